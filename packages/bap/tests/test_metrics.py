import numpy as np
import pytest
from sklearn.metrics import confusion_matrix

from bap.metrics import SegmentationEvaluator, official_miou


def test_confusion_matrix_matches_sklearn_and_ignores_void():
    rng = np.random.default_rng(0)
    gt = rng.integers(0, 5, (3, 20, 20))
    gt[0, :3] = 255
    pred = rng.integers(0, 5, (3, 20, 20))
    ev = SegmentationEvaluator(5)
    for p, g in zip(pred, gt):
        ev.update(p, g)
    keep = gt != 255
    ref = confusion_matrix(gt[keep], pred[keep], labels=range(5))
    np.testing.assert_array_equal(ev.cm.matrix, ref)
    r = ev.compute()
    assert r["n_images"] == 3
    tp, g, pr = np.diag(ref), ref.sum(1), ref.sum(0)
    assert r["miou"] == pytest.approx(np.mean(tp / (g + pr - tp)))
    assert r["pixel_acc"] == pytest.approx(tp.sum() / g.sum())
    assert r["fwiou"] == pytest.approx(((g / g.sum()) * tp / (g + pr - tp)).sum())


def test_official_miou_penalises_classes_predicted_but_absent():
    gt = np.array([[0, 0, 1, 1]])
    pred = np.array([[0, 2, 1, 1]])  # class 2 predicted, absent in GT
    r = SegmentationEvaluator(3, miou_mode="official")
    r.update(pred, gt)
    out = r.compute()
    # IoU_0 = 1/2, IoU_1 = 1; class 2 adds 0 to the numerator and 1 to the denominator
    assert out["miou"] == pytest.approx(1.5 / 3)
    assert out["miou_gt"] == pytest.approx(1.5 / 2)
    assert out["miou_standard"] == pytest.approx(out["miou_official"])
    cm = np.array([[2, 0, 1], [0, 2, 0], [0, 0, 0]])
    assert official_miou(cm) == pytest.approx((2 / 3 + 1) / 3)


def test_official_equals_gt_mean_exactly_when_no_spurious_class():
    rng = np.random.default_rng(1)
    for trial in range(30):
        gt = rng.integers(0, 4, (6, 6))
        pred = rng.integers(0, 5, (6, 6)) if trial % 2 else gt.copy()
        pred[pred == 4] = 3
        ev = SegmentationEvaluator(5)
        ev.update(pred, gt)
        r = ev.compute()
        spurious = bool(set(np.unique(pred)) - set(np.unique(gt)))
        assert r["miou_official"] == pytest.approx(r["miou_standard"])
        assert (abs(r["miou_official"] - r["miou_gt"]) > 1e-12) == spurious


def test_evaluator_errors():
    with pytest.raises(ValueError):
        SegmentationEvaluator(3).update(np.zeros((2, 2)), np.zeros((2, 3)))
    with pytest.raises(ValueError):
        SegmentationEvaluator(3, miou_mode="x")
