"""PSNR, weighted regular score, min-max, anomaly score, AUC and label alignment (E8-E13)."""

import math
import warnings

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score

from cvcore.errors import DataError
from mnad.scores import (
    align_labels,
    anomaly_scores,
    frame_auc,
    frame_mse,
    minmax,
    psnr,
    weighted_regular_score,
)


def test_psnr_closed_form():
    assert psnr(0.01) == pytest.approx(20.0)
    np.testing.assert_allclose(psnr(np.array([1.0, 0.1, 1e-4])), [0.0, 10.0, 40.0])


def test_frame_mse_maps_to_unit_range():
    pred = -torch.ones(2, 3, 4, 4)
    target = torch.ones(2, 3, 4, 4)
    np.testing.assert_allclose(frame_mse(pred, target).numpy(), [1.0, 1.0])  # [-1,1] -> [0,1]: error 1
    t = torch.zeros(1, 3, 2, 2)
    np.testing.assert_allclose(frame_mse(t + 0.2, t).numpy(), [0.01])  # 0.2 in [-1,1] is 0.1 in [0,1]


def test_weighted_regular_score_formula():
    rng = np.random.default_rng(0)
    a = rng.uniform(-1, 1, (3, 5, 5))
    b = rng.uniform(-1, 1, (3, 5, 5))
    e = ((a + 1) / 2 - (b + 1) / 2) ** 2
    w = 1 - np.exp(-e)
    ref = (w * e).sum() / w.sum()
    assert weighted_regular_score(torch.tensor(a), torch.tensor(b)) == pytest.approx(ref, rel=1e-12)
    assert weighted_regular_score(-torch.ones(3, 2, 2), torch.ones(3, 2, 2)) == pytest.approx(1.0)
    assert weighted_regular_score(torch.zeros(3, 2, 2), torch.zeros(3, 2, 2)) == 0.0


def test_minmax_and_constant_video():
    np.testing.assert_allclose(minmax([2.0, 4.0, 3.0]), [0.0, 1.0, 0.5])
    with pytest.warns(RuntimeWarning, match="constant"):
        out = minmax([5.0, 5.0, 5.0])
    np.testing.assert_array_equal(out, 0.0)
    with pytest.raises(DataError):
        minmax([1.0, math.inf])


def test_anomaly_scores_per_video_normalisation():
    p = np.array([30.0, 20.0, 25.0, 100.0, 90.0])
    d = np.array([0.1, 0.3, 0.2, 5.0, 7.0])
    lam = 0.6
    out = anomaly_scores(p, d, [3, 2], lam)
    # video 0: g(P) = [1, 0, .5], g(D) = [0, 1, .5]; video 1: g(P) = [1, 0], g(D) = [0, 1]
    ref = lam * (1 - np.array([1, 0, 0.5, 1, 0])) + (1 - lam) * np.array([0, 1, 0.5, 0, 1])
    np.testing.assert_allclose(out, ref)
    np.testing.assert_allclose(anomaly_scores(p, d, video_ids=[0, 0, 0, 1, 1], lam=lam), ref)
    np.testing.assert_allclose(anomaly_scores(p, d, np.array(["a", "a", "a", "b", "b"]), lam), ref)
    # normality score of the official script R = lam*g(P) + (1-lam)*(1-g(D)) equals 1 - A
    gp = np.concatenate([minmax(p[:3]), minmax(p[3:])])
    gd = np.concatenate([minmax(d[:3]), minmax(d[3:])])
    np.testing.assert_allclose(1 - out, lam * gp + (1 - lam) * (1 - gd))
    # lambda = 1: PSNR only; a pooled normalisation would give different scores
    np.testing.assert_allclose(anomaly_scores(p, d, [3, 2], 1.0), 1 - gp)
    assert not np.allclose(anomaly_scores(p, d, [5], lam), ref)


def test_anomaly_scores_constant_distance_gives_no_nan():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = anomaly_scores([1.0, 2.0, 3.0], [0.0, 0.0, 0.0], [3], 0.6)
    assert np.isfinite(out).all()
    with pytest.raises(ValueError):
        anomaly_scores([1.0, 2.0], [1.0, 2.0], [3], 0.6)


def test_frame_auc_against_sklearn_with_ties():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 200)
    s = np.round(rng.normal(size=200) + y, 1)  # rounding creates ties
    assert frame_auc(s, y) == pytest.approx(roc_auc_score(y, s), abs=1e-12)
    assert frame_auc([0.1, 0.9, 0.2, 0.8], [0, 1, 0, 1]) == 1.0
    assert frame_auc([0.5, 0.5], [0, 1]) == 0.5


def test_frame_auc_per_video():
    s = np.array([0.1, 0.9, 0.2, 0.3, 0.6, 0.5, 0.4])
    y = np.array([0, 1, 0, 1, 0, 0, 0])
    vid = np.array([0, 0, 0, 1, 1, 2, 2])  # video 2 has one class only: skipped
    ref = np.mean([roc_auc_score(y[:3], s[:3]), roc_auc_score(y[3:5], s[3:5])])
    assert frame_auc(s, y, video_ids=vid, mode="per_video") == pytest.approx(ref)
    assert frame_auc(s, y, video_ids=vid, mode="per-video") == pytest.approx(ref)
    with pytest.raises(ValueError):
        frame_auc(s, y, mode="per_video")


def test_frame_auc_errors():
    with pytest.raises(DataError, match="one class"):
        frame_auc([0.1, 0.2], [1, 1])
    with pytest.raises(DataError, match="labels"):
        frame_auc([0.1, 0.2, 0.3], [0, 1])
    with pytest.raises(DataError):
        frame_auc([0.1, 0.2], [0, 2])
    with pytest.raises(DataError, match="no video"):
        frame_auc([0.1, 0.2], [0, 1], video_ids=[0, 1], mode="per_video")


def test_align_labels_drops_first_frames_per_video():
    labels = np.arange(13)  # two videos of 6 and 7 frames
    np.testing.assert_array_equal(align_labels(labels, [6, 7], 5), [4, 5, 10, 11, 12])
    np.testing.assert_array_equal(align_labels(labels.reshape(1, -1), [6, 7], 1), labels)  # (1, n) file
    np.testing.assert_array_equal(align_labels(np.arange(5), [3, 2], 5), [])  # too-short videos: none
    with pytest.raises(DataError):
        align_labels(labels, [6, 6], 5)
