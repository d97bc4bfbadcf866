import numpy as np
import torch
from hvpr_polygon_reference import iou_bev

from hvpr.ops import nms_bev


def _reference(boxes, scores, thresh, pre_max=None, post_max=None):
    order = sorted(range(len(scores)), key=lambda i: -scores[i])  # Python sort is stable
    if pre_max is not None:
        order = order[:pre_max]
    keep = []
    for i in order:
        if all(iou_bev(boxes[i], boxes[k]) <= thresh for k in keep):
            keep.append(i)
    return keep[:post_max] if post_max is not None else keep


def _scene(n, seed):
    rng = np.random.default_rng(seed)
    b = np.zeros((n, 7))
    b[:, :2] = rng.uniform(0, 8, (n, 2))
    b[:, 3:6] = rng.uniform(1, 3, (n, 3))
    b[:, 6] = rng.uniform(-np.pi, np.pi, n)
    s = rng.uniform(0, 1, n).round(1)  # many ties
    return b, s


def test_nms_matches_reference():
    for seed in range(3):
        b, s = _scene(60, seed)
        for thresh in (0.01, 0.1, 0.5):
            ours = nms_bev(torch.from_numpy(b), torch.from_numpy(s), thresh).tolist()
            assert ours == _reference(b, s, thresh)


def test_nms_caps_and_strict_threshold():
    b, s = _scene(60, 7)
    ours = nms_bev(torch.from_numpy(b), torch.from_numpy(s), 0.1, pre_max=20, post_max=5).tolist()
    assert ours == _reference(b, s, 0.1, 20, 5)
    assert len(ours) <= 5
    # IoU exactly 1/3 at threshold 1/3 is not suppressed (strictly greater)
    two = torch.tensor([[1.0, 0, 0, 2, 1, 1, 0], [2.0, 0, 0, 2, 1, 1, 0]], dtype=torch.float64)
    sc = torch.tensor([0.9, 0.8], dtype=torch.float64)
    assert nms_bev(two, sc, 1 / 3 + 1e-9).tolist() == [0, 1]
    assert nms_bev(two, sc, 1 / 3 - 1e-9).tolist() == [0]
    assert nms_bev(torch.zeros(0, 7), torch.zeros(0), 0.1).numel() == 0
