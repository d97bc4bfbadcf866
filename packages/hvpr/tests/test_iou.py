import math

import numpy as np
import torch
from hvpr_polygon_reference import iou_bev

from hvpr.ops import nearest_bev_iou, rotated_iou_3d, rotated_iou_bev


def _pairs(n, seed):
    rng = np.random.default_rng(seed)
    a = np.zeros((n, 7))
    a[:, :2] = rng.uniform(-3, 3, (n, 2))
    a[:, 2] = rng.uniform(-1, 1, n)
    a[:, 3:6] = rng.uniform(0.5, 4, (n, 3))
    a[:, 6] = rng.uniform(-np.pi, np.pi, n)
    b = a + np.concatenate([rng.normal(0, 1.5, (n, 3)), rng.normal(0, 0.8, (n, 3)), rng.normal(0, 1, (n, 1))], 1)
    b[:, 3:6] = np.abs(b[:, 3:6]) + 0.2
    # special cases: identical, nested, 90°-rotated square, disjoint, touching
    b[:50] = a[:50]
    b[50:100] = a[50:100]
    b[50:100, 3:5] = a[50:100, 3:5] * 0.5
    sq = a[100:150].copy()
    sq[:, 4] = sq[:, 3]
    a[100:150] = sq
    b[100:150] = sq
    b[100:150, 6] += np.pi / 2
    b[150:170, 0] = a[150:170, 0] + 20
    t = a[170:190].copy()
    t[:, 6] = 0.3
    b[170:190] = t
    a[170:190] = t
    b[170:190, 0] += t[:, 3] * math.cos(0.3)  # shifted by its own length along the heading: touching
    b[170:190, 1] += t[:, 3] * math.sin(0.3)
    return a, b


def test_rotated_iou_matches_polygon_clipping():
    a, b = _pairs(2000, 0)
    # pairwise diagonal without building the 2000x2000 matrix
    ours = np.array([rotated_iou_bev(torch.from_numpy(a[i : i + 1]), torch.from_numpy(b[i : i + 1]))[0, 0].item()
                     for i in range(0, 2000)])
    ref = np.array([iou_bev(a[i], b[i]) for i in range(2000)])
    assert np.abs(ours - ref).max() < 1e-4
    assert np.allclose(ours[:50], 1.0, atol=1e-6)
    assert np.allclose(ours[50:100], 0.25, atol=1e-6)
    assert np.allclose(ours[100:150], 1.0, atol=1e-6)
    assert np.allclose(ours[150:190], 0.0, atol=1e-6)
    assert ((ref > 0.05) & (ref < 0.95)).sum() > 300  # the random part covers partial overlaps


def test_rotated_iou_pairwise_matrix_and_chunks():
    a, b = _pairs(300, 1)
    mat = rotated_iou_bev(torch.from_numpy(a), torch.from_numpy(b)).numpy()
    assert mat.shape == (300, 300)
    rng = np.random.default_rng(2)
    for i, j in rng.integers(0, 300, (200, 2)):
        assert abs(mat[i, j] - iou_bev(a[i], b[j])) < 1e-4
    assert rotated_iou_bev(torch.zeros(0, 7), torch.from_numpy(b).float()).shape == (0, 300)


def test_rotated_iou_hand_cases():
    # two unit squares, one rotated 45°: intersection = regular octagon, area 2(√2 − 1)
    a = torch.tensor([[0.0, 0, 0, 1, 1, 1, 0]], dtype=torch.float64)
    b = a.clone()
    b[0, 6] = math.pi / 4
    inter = 2 * (math.sqrt(2) - 1)
    assert abs(rotated_iou_bev(a, b).item() - inter / (2 - inter)) < 1e-9
    # half overlap of axis-aligned 2x1 boxes: IoU 1/3
    c = torch.tensor([[1.0, 0, 0, 2, 1, 1, 0]], dtype=torch.float64)
    d = torch.tensor([[2.0, 0, 0, 2, 1, 1, 0]], dtype=torch.float64)
    assert abs(rotated_iou_bev(c, d).item() - 1 / 3) < 1e-9


def test_iou_3d_monte_carlo():
    rng = np.random.default_rng(3)
    a, b = _pairs(200, 4)
    pick = [i for i in range(190, 200)] + [0, 60]
    ious = rotated_iou_3d(torch.from_numpy(a[pick]), torch.from_numpy(b[pick])).diagonal().numpy()
    for k, i in enumerate(pick):
        # uniform samples in a box containing both; points tested by hand in each box's own frame
        lo = np.minimum(a[i, :3] - a[i, 3:6], b[i, :3] - b[i, 3:6])
        hi = np.maximum(a[i, :3] + a[i, 3:6], b[i, :3] + b[i, 3:6])
        p = rng.uniform(lo, hi, (1_000_000, 3))

        def inside(box):
            c, s = np.cos(box[6]), np.sin(box[6])
            dx, dy = p[:, 0] - box[0], p[:, 1] - box[1]
            u, v = c * dx + s * dy, -s * dx + c * dy
            return (np.abs(u) <= box[3] / 2) & (np.abs(v) <= box[4] / 2) & (np.abs(p[:, 2] - box[2]) <= box[5] / 2)

        ia, ib = inside(a[i]), inside(b[i])
        mc = (ia & ib).sum() / max((ia | ib).sum(), 1)
        assert abs(mc - ious[k]) < 5e-3, (i, mc, ious[k])


def test_iou_3d_height_overlap_closed_form():
    a = torch.tensor([[0.0, 0, 0, 2, 2, 2, 0.7]], dtype=torch.float64)
    b = a.clone()
    b[0, 2] = 1.0  # half the height overlaps: inter = 4, union = 12
    assert abs(rotated_iou_3d(a, b).item() - 1 / 3) < 1e-9
    b[0, 2] = 2.5
    assert rotated_iou_3d(a, b).item() == 0.0
    assert abs(rotated_iou_bev(a, b).item() - 1.0) < 1e-9


def test_nearest_iou_snapping_boundary():
    g = torch.tensor([[0.0, 0, 0, 4, 1, 1, 0]])
    eps = 1e-3
    below = torch.tensor([[0.0, 0, 0, 4, 1, 1, math.pi / 4 - eps]])
    above = torch.tensor([[0.0, 0, 0, 4, 1, 1, math.pi / 4 + eps]])
    assert abs(nearest_bev_iou(below, g).item() - 1.0) < 1e-6  # kept (dx, dy)
    assert abs(nearest_bev_iou(above, g).item() - 1 / 7) < 1e-6  # swapped: 1x1 overlap / (4 + 4 − 1)
    # the wrap is to [−π/2, π/2): θ = π behaves like 0, θ = −π/2 like π/2
    assert abs(nearest_bev_iou(torch.tensor([[0.0, 0, 0, 4, 1, 1, math.pi]]), g).item() - 1.0) < 1e-6
    assert abs(nearest_bev_iou(torch.tensor([[0.0, 0, 0, 4, 1, 1, -math.pi / 2]]), g).item() - 1 / 7) < 1e-6


def test_circle_prefilter_equals_all_pairs():
    from hvpr.ops.boxes import boxes_to_corners_bev
    from hvpr.ops.iou import _intersection_area, rotated_intersection_bev

    g = torch.Generator().manual_seed(5)
    a = torch.rand(70, 7, generator=g) * torch.tensor([15.0, 15, 1, 4, 2, 1, 6.3]) + torch.tensor([0, 0, 0, 0.2, 0.2, 0.5, -3])
    b = torch.rand(50, 7, generator=g) * torch.tensor([15.0, 15, 1, 4, 2, 1, 6.3]) + torch.tensor([0, 0, 0, 0.2, 0.2, 0.5, -3])
    b[:5] = a[:5]  # identical boxes
    b[5, :2] = a[5, :2] + 0.5 * torch.hypot(a[5, 3], a[5, 4]) + 0.5 * torch.hypot(b[5, 3], b[5, 4])  # tangent circles
    full = _intersection_area(boxes_to_corners_bev(a.double()), boxes_to_corners_bev(b.double()))
    fast = rotated_intersection_bev(a, b)
    assert (full > 0).sum() > 20 and (full == 0).sum() > 100
    torch.testing.assert_close(fast, full, rtol=0, atol=1e-12)
