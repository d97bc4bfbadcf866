"""Real geometry: the point cloud of Middlebury's 'motorcycle' stereo pair (scikit-image's bundled copy with
its ground-truth disparity, CONVENTIONS §17), back-projected with the pair's published calibration and
expressed in the LiDAR frame. Real clouds are dense, clustered and far from uniform, unlike the synthetic
ones: the voxelizer caps, FPS, ball query and the calibration round trip are checked on them against
brute-force references and exact properties."""

import numpy as np
import pytest
import torch
from test_voxelize import _brute_force

from hvpr.data import PillarVoxelizer
from hvpr.data.kitti_io import Calibration
from hvpr.ops.pointnet2 import ball_query, farthest_point_sample

pytestmark = pytest.mark.realdata

# Middlebury 2014 'Motorcycle' calib.txt (full size 2964 px wide: f 3979.911, cx 1244.772, cy 1019.507,
# doffs 124.343, baseline 193.001 mm); scikit-image's copy is 741 px wide, i.e. scaled by 1/4.
SCALE = 741 / 2964
F, CX, CY, DOFFS, BASELINE = 3979.911 * SCALE, 1244.772 * SCALE, 1019.507 * SCALE, 124.343 * SCALE, 0.193001
# camera (x right, y down, z forward) -> LiDAR (x forward, y left, z up), camera 1.6 m above the "ground"
V2C = np.array([[0.0, -1.0, 0.0, 0.0], [0.0, 0.0, -1.0, 1.6], [1.0, 0.0, 0.0, 0.0]])


@pytest.fixture(scope="module")
def motorcycle():
    """(N, 4) float32 LiDAR-frame points (intensity = grey value) and their (u, v) pixels."""
    from skimage import data

    left, _, disp = data.stereo_motorcycle()
    v, u = np.nonzero(np.isfinite(disp))
    d = disp[v, u].astype(np.float64)
    z = BASELINE * F / (d + DOFFS)
    cam = np.stack([(u - CX) * z / F, (v - CY) * z / F, z], 1)
    lidar = (cam - V2C[:, 3]) @ V2C[:, :3]  # inverse of the rigid V2C (rotation part is orthonormal)
    grey = left[v, u].mean(1) / 255.0
    pts = np.concatenate([lidar, grey[:, None]], 1).astype(np.float32)
    return pts, np.stack([u, v], 1).astype(np.float64)


def test_calibration_round_trip_reprojects_to_the_pixels(motorcycle):
    pts, uv = motorcycle
    assert len(pts) > 300_000 and 2.0 < pts[:, 0].min() and pts[:, 0].max() < 5.5  # a real 2-5 m scene
    p2 = np.array([[F, 0, CX, 0], [0, F, CY, 0], [0, 0, 1, 0]])
    calib = Calibration(p2, np.eye(3), V2C)
    sel = np.random.default_rng(0).choice(len(pts), 20_000, replace=False)
    rect = calib.lidar_to_rect(pts[sel, :3].astype(np.float64))
    img, depth = calib.rect_to_img(rect)
    np.testing.assert_allclose(img, uv[sel], atol=2e-3)  # float32 storage of the points
    assert (depth > 0).all()
    np.testing.assert_allclose(calib.rect_to_lidar(rect), pts[sel, :3], atol=1e-5)


def test_voxelizer_on_the_real_cloud_equals_brute_force(motorcycle):
    pts = motorcycle[0][np.random.default_rng(1).permutation(len(motorcycle[0]))[:6000]]
    # 10 cm pillars over the scene: thousands of points share pillars, so the 32-point cap and the
    # voxel cap both bite on real clustering
    vsize, prange = (0.1, 0.1, 4.0), (2.0, -1.6, -1.0, 4.4, 1.6, 3.0)
    for max_points, max_voxels in ((32, 20_000), (8, 300)):
        vox, coords, num = PillarVoxelizer(vsize, prange, max_points, max_voxels)(torch.from_numpy(pts))
        rv, rc, rn = _brute_force(pts, vsize, prange, max_points, max_voxels)
        assert np.array_equal(coords.numpy(), rc) and np.array_equal(num.numpy(), rn)
        assert np.array_equal(vox.numpy(), rv)
        assert rn.max() == max_points  # real density saturates the cap
    assert rc.shape[0] == 300


def test_fps_and_ball_query_on_the_real_cloud(motorcycle):
    pts = motorcycle[0][np.random.default_rng(2).permutation(len(motorcycle[0]))[:3000], :3]
    xyz = torch.from_numpy(pts)[None].double()
    k = 64
    idx = farthest_point_sample(xyz, k)[0].numpy()
    # brute-force greedy loop (start at index 0, farthest point next, first index on ties)
    p = pts.astype(np.float64)
    ref, dist = [0], ((p - p[0]) ** 2).sum(1)
    for _ in range(k - 1):
        nxt = int(np.argmax(dist))
        ref.append(nxt)
        dist = np.minimum(dist, ((p - p[nxt]) ** 2).sum(1))
    assert idx.tolist() == ref
    # k-centre property of greedy FPS: the covering radius is at most the smallest gap between centres,
    # which makes it a 2-approximation of the optimal covering radius
    centres = p[idx]
    cover = np.sqrt(((p[:, None] - centres[None]) ** 2).sum(-1).min(1).max())
    gaps = np.sqrt(((centres[:, None] - centres[None]) ** 2).sum(-1))[np.triu_indices(k, 1)]
    assert cover <= gaps.min() + 1e-12

    radius, nsample = 0.15, 16
    got = ball_query(radius, nsample, xyz, xyz[:, idx], None)[0].numpy()
    for m, c in enumerate(centres):
        inside = np.nonzero(((p - c) ** 2).sum(1) < radius ** 2)[0][:nsample]
        expect = np.concatenate([inside, np.full(nsample - len(inside), inside[0])])
        assert got[m].tolist() == expect.tolist()
    assert (got != got[:, :1]).any(1).mean() > 0.9  # most real neighbourhoods are dense, not single points
