import math

import numpy as np
import pytest
import torch

from sfnet.metrics import flow_pck, pck, pck_batch, threshold_length, valid_keypoints


def test_pck_inclusive_and_missing_points():
    src = np.array([[10.0, 20.0, -1.0], [10.0, 20.0, -1.0]])
    est = np.array([[13.0, 20.0, 500.0], [14.0, 25.1, 500.0]])  # distances 5 (== thr), 5.1, ignored
    assert pck(src, est, L=50, alpha=0.1) == pytest.approx(0.5)
    assert valid_keypoints(src).tolist() == [True, True, False]
    assert math.isnan(pck(-np.ones((2, 2)), np.zeros((2, 2)), L=10))


def test_per_pair_mean_differs_from_pooled():
    # pair 1: 1 keypoint, correct; pair 2: 3 keypoints, 1 correct -> per-pair mean 2/3, pooled 2/4
    s1, e1 = np.zeros((2, 1)), np.zeros((2, 1))
    s2 = np.zeros((2, 3))
    e2 = np.array([[0.0, 100.0, 100.0], [0.0, 0.0, 0.0]])
    scores = pck_batch(np.stack([np.pad(s1, ((0, 0), (0, 2)), constant_values=-1), s2]),
                       np.stack([np.pad(e1, ((0, 0), (0, 2))), e2]), [10.0, 10.0])
    assert scores.tolist() == pytest.approx([1.0, 1 / 3])
    assert float(scores.mean()) == pytest.approx(2 / 3) and float(scores.mean()) != pytest.approx(0.5)


def test_threshold_lengths():
    src = np.array([[10.0, 50.0, 30.0, -1.0], [5.0, 15.0, 95.0, -1.0]])
    assert threshold_length("pf-willow", "bounding_box", src) == 90.0  # max(40, 90); -1 ignored
    assert threshold_length("pf-pascal", "bounding_box", bbox_length=123.5) == 123.5
    assert threshold_length("pf-pascal", "image_size") == 288.0
    with pytest.raises(ValueError):
        threshold_length("pf-pascal", "bounding_box")
    with pytest.raises(ValueError):
        threshold_length("tss", "bounding_box", src)


def test_flow_pck_matches_brute_force():
    rng = np.random.default_rng(0)
    gt = rng.normal(0, 5, (2, 6, 8))
    est = gt + rng.normal(0, 1, (2, 6, 8))
    gt[0, 0, 0] = np.inf  # unknown
    mask = rng.random((6, 8)) > 0.3
    thr = 0.05 * 8
    hits = [np.hypot(*(est[:, y, x] - gt[:, y, x])) <= thr for y in range(6) for x in range(8)
            if mask[y, x] and np.isfinite(gt[:, y, x]).all()]
    assert flow_pck(est, gt, mask) == pytest.approx(np.mean(hits))
    assert flow_pck(torch.tensor(gt), torch.tensor(gt), mask) == 1.0 or not mask.any()
    assert math.isnan(flow_pck(est, gt, np.zeros((6, 8), bool)))
