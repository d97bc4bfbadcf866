import math

import numpy as np
import pytest

from cvcore.metrics import ConfusionMatrix, confusion_matrix, segmentation_scores
from cvcore.metrics.segmentation import harmonic_mean


def _brute(pred, gt, c, ignore):
    iou, acc = [], []
    keep = gt != ignore
    for k in range(c):
        inter = np.sum((pred == k) & (gt == k) & keep)
        union = np.sum(((pred == k) | (gt == k)) & keep)
        iou.append(inter / union if union else np.nan)
        n = np.sum((gt == k) & keep)
        acc.append(inter / n if n else np.nan)
    pix = np.sum((pred == gt) & keep) / keep.sum()
    return np.array(iou), np.array(acc), pix


def test_against_per_class_brute_force_with_ignore_and_empty_class():
    rng = np.random.default_rng(0)
    gt = rng.integers(0, 4, size=(3, 17, 19))  # class 4 never appears anywhere
    gt[:, :2] = 255
    pred = np.where(rng.random(gt.shape) < 0.6, np.clip(gt, 0, 4), rng.integers(0, 4, gt.shape))
    cm = ConfusionMatrix(5, ignore_index=255)
    for p, g in zip(pred, gt):
        cm.update(p, g)
    scores = cm.compute(seen=[0, 1, 2], unseen=[3, 4])
    iou, acc, pix = _brute(pred, gt, 5, 255)
    np.testing.assert_allclose(scores["iou"], iou, equal_nan=True)
    assert math.isnan(scores["iou"][4])
    assert scores["miou"] == pytest.approx(np.nanmean(iou))
    assert scores["mean_acc"] == pytest.approx(np.nanmean(acc))
    assert scores["pixel_acc"] == pytest.approx(pix)
    s, u = np.nanmean(iou[:3]), iou[3]
    assert scores["miou_seen"] == pytest.approx(s)
    assert scores["miou_unseen"] == pytest.approx(u)  # the empty class 4 is left out
    assert scores["miou_harmonic"] == pytest.approx(2 * s * u / (s + u))


def test_hand_computed_two_class_example():
    gt = np.array([[0, 0, 1, 1]])
    pred = np.array([[0, 1, 1, 1]])
    cm = confusion_matrix(pred, gt, 2)
    assert cm.tolist() == [[1, 1], [0, 2]]
    s = segmentation_scores(cm)
    assert s["iou"] == pytest.approx([1 / 2, 2 / 3])
    assert s["pixel_acc"] == pytest.approx(0.75)
    assert s["mean_acc"] == pytest.approx(0.75)


def test_errors_and_harmonic_edge_cases():
    with pytest.raises(ValueError, match="target labels"):
        confusion_matrix(np.array([0]), np.array([7]), 3)
    with pytest.raises(ValueError, match="predicted labels"):
        confusion_matrix(np.array([5]), np.array([1]), 3)
    with pytest.raises(ValueError, match="differ in size"):
        confusion_matrix(np.zeros(3), np.zeros(4), 3)
    assert harmonic_mean(0.0, 0.0) == 0.0
    assert math.isnan(harmonic_mean(float("nan"), 0.5))
    all_ignored = confusion_matrix(np.zeros(4), np.full(4, 255), 3)
    assert all_ignored.sum() == 0 and math.isnan(segmentation_scores(all_ignored)["pixel_acc"])


def test_torch_inputs():
    torch = pytest.importorskip("torch")
    gt = torch.tensor([[0, 1], [2, 255]])
    assert confusion_matrix(gt.clone().clamp(max=2), gt, 3).trace() == 3
