import numpy as np
import pytest
import torch

from hvpr.data import PillarVoxelizer


def _brute_force(points, vsize, prange, max_points, max_voxels):
    """Point-by-point loop with PointToVoxel semantics (first come, half-open bounds, caps)."""
    grid = np.round((np.array(prange[3:]) - np.array(prange[:3])) / np.array(vsize)).astype(int)
    table: dict = {}
    voxels, coords, counts = [], [], []
    for p in points:
        c = [int(np.floor((np.float32(p[d]) - np.float32(prange[d])) / np.float32(vsize[d]))) for d in range(3)]
        if any(c[d] < 0 or c[d] >= grid[d] for d in range(3)):
            continue
        key = tuple(c)
        if key not in table:
            if len(voxels) >= max_voxels:
                continue
            table[key] = len(voxels)
            voxels.append(np.zeros((max_points, points.shape[1]), np.float32))
            coords.append([c[2], c[1], c[0]])
            counts.append(0)
        v = table[key]
        if counts[v] < max_points:
            voxels[v][counts[v]] = p
            counts[v] += 1
    return np.array(voxels).reshape(-1, max_points, points.shape[1]), np.array(coords).reshape(-1, 3), np.array(counts)


def _cloud(n, seed):
    rng = np.random.default_rng(seed)
    pts = np.zeros((n, 4), np.float32)
    pts[:, 0] = rng.uniform(-1, 6, n)
    pts[:, 1] = rng.uniform(-3, 3, n)
    pts[:, 2] = rng.uniform(-4, 2, n)
    pts[:, 3] = rng.uniform(0, 1, n)
    # points exactly on the bounds (half-open: max excluded) and many points in one pillar (first-32 rule)
    pts[:10, 0] = 4.8
    pts[10:20, 0] = 0.0
    pts[20:80, :3] = [1.01, 0.05, -1.0]
    pts[20:80, 3] = np.arange(60) / 60
    return pts


def test_voxelizer_equals_brute_force():
    vsize, prange = (0.32, 0.32, 4.0), (0.0, -2.56, -3.0, 4.8, 2.56, 1.0)
    for seed, (mp, mv) in enumerate([(32, 10_000), (4, 50), (32, 1)]):
        pts = _cloud(3000, seed)
        vox, coords, num = PillarVoxelizer(vsize, prange, mp, mv)(torch.from_numpy(pts))
        rv, rc, rn = _brute_force(pts, vsize, prange, mp, mv)
        assert vox.shape[0] == min(mv, rv.shape[0]) == rv.shape[0]
        assert np.array_equal(coords.numpy(), rc)
        assert np.array_equal(num.numpy(), rn)
        assert np.array_equal(vox.numpy(), rv)
        assert rn.max() == min(mp, 60 if mv > 1 else rn.max())  # the 60-point pillar is capped
        assert rv.shape[0] == min(mv, rv.shape[0]) and (mv > 1 or rv.shape[0] == 1)


def test_voxelizer_first_points_kept_and_bounds():
    vsize, prange = (0.32, 0.32, 4.0), (0.0, -2.56, -3.0, 4.8, 2.56, 1.0)
    pts = _cloud(500, 5)
    vox, coords, num = PillarVoxelizer(vsize, prange, 32, 1000)(torch.from_numpy(pts))
    # the 60-point pillar keeps exactly its first 32 points, in input order
    hit = [i for i in range(vox.shape[0]) if torch.equal(vox[i, 0, :3], torch.from_numpy(pts[20, :3]))]
    assert len(hit) == 1 and num[hit[0]] == 32
    assert torch.allclose(vox[hit[0], :, 3], torch.from_numpy(pts[20:52, 3]))
    # nothing at x = 4.8 (max is exclusive); x = 0.0 is kept; coords within the grid
    assert (vox[..., 0][num[:, None] > torch.arange(32)] < 4.8).all()
    assert (coords[:, 2] < 15).all() and (coords[:, 0] == 0).all()
    # padding slots are zero
    pad = torch.arange(32)[None] >= num[:, None]
    assert (vox[pad] == 0).all()


def test_voxelizer_empty_cloud():
    vox, coords, num = PillarVoxelizer((0.5, 0.5, 4), (0, 0, -3, 4, 4, 1), 8, 10)(torch.full((5, 4), 100.0))
    assert vox.shape == (0, 8, 4) and coords.shape == (0, 3) and num.shape == (0,)


def _spconv_or_skip():
    from hvpr.data.voxelize import spconv_available

    if not spconv_available():
        pytest.skip("spconv (spconv-cu120) is not importable here; the torch backend is the fallback")


@pytest.mark.parametrize("caps", [(32, 10_000), (4, 50), (32, 1), (1, 3)])
def test_spconv_backend_identical_to_torch(caps):
    _spconv_or_skip()
    vsize, prange = (0.32, 0.32, 4.0), (0.0, -2.56, -3.0, 4.8, 2.56, 1.0)
    mp, mv = caps
    for seed in range(3):
        pts = torch.from_numpy(_cloud(3000, 10 + seed))
        a = PillarVoxelizer(vsize, prange, mp, mv, backend="torch")(pts)
        sp = PillarVoxelizer(vsize, prange, mp, mv, backend="spconv")
        assert sp.backend == "spconv"
        b = sp(pts)
        for x, y in zip(a, b):
            assert x.dtype == y.dtype and torch.equal(x, y)
    empty = PillarVoxelizer(vsize, prange, 8, 10, backend="spconv")(torch.full((5, 4), 100.0))
    assert empty[0].shape == (0, 8, 4) and empty[1].shape == (0, 3)


def test_backend_choice():
    from hvpr.data.voxelize import spconv_available

    auto = PillarVoxelizer((0.5, 0.5, 4), (0, 0, -3, 4, 4, 1), 8, 10, backend="auto")
    assert auto.backend == ("spconv" if spconv_available() else "torch")
    with pytest.raises(ValueError):
        PillarVoxelizer((0.5, 0.5, 4), (0, 0, -3, 4, 4, 1), 8, 10, backend="cuda")
