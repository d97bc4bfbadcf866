import math

import numpy as np
import pytest

from cvcore.metrics import pck, pck_per_pair


def test_pck_against_brute_force():
    rng = np.random.default_rng(0)
    pred = rng.uniform(0, 100, (4, 10, 2))
    gt = pred + rng.normal(0, 8, pred.shape)
    lengths = np.array([100.0, 80.0, 120.0, 60.0])
    valid = rng.random((4, 10)) > 0.2
    per = []
    for b in range(4):
        ok = [math.dist(pred[b, i], gt[b, i]) <= 0.1 * lengths[b] for i in range(10) if valid[b, i]]
        per.append(sum(ok) / len(ok))
    assert pck(pred, gt, lengths, alpha=0.1, valid=valid) == pytest.approx(np.mean(per))


def test_boundary_inclusive_and_empty():
    p = np.array([[0.0, 0.0]])
    t = np.array([[3.0, 4.0]])  # distance exactly 5
    assert pck_per_pair(p, t, 50.0, alpha=0.1) == 1.0
    assert pck_per_pair(p, t, 50.0, alpha=0.1, inclusive=False) == 0.0
    assert math.isnan(pck_per_pair(p, t, 50.0, valid=[False]))
    assert pck_per_pair(t, t, 1.0, alpha=0.0) == 1.0
    with pytest.raises(ValueError, match="positive"):
        pck_per_pair(p, t, 0.0)
