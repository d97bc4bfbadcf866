import numpy as np
import pytest
from sklearn.metrics import confusion_matrix as sk_cm

from gzs3.metrics import GZSEvaluator, gzs_scores


def brute(pred, gt, K, seen, unseen, skip):
    keep = gt < K
    p, g = pred[keep], gt[keep]
    iou, acc = [], []
    for c in range(K):
        tp = np.sum((p == c) & (g == c))
        union = np.sum((p == c) | (g == c))
        n = np.sum(g == c)
        iou.append(tp / union if union else np.nan)
        acc.append(tp / n if n else np.nan)
    iou, acc = np.array(iou), np.array(acc)

    def m(x):
        return np.nanmean(x) if skip else np.nan_to_num(x).mean()

    h = lambda a, b: 0.0 if a + b == 0 else 2 * a * b / (a + b)  # noqa: E731
    pa_s = sum(np.sum((p == c) & (g == c)) for c in seen) / np.isin(g, seen).sum()
    pa_u = sum(np.sum((p == c) & (g == c)) for c in unseen) / np.isin(g, unseen).sum()
    return {"miou": (m(iou[seen]), m(iou[unseen]), h(m(iou[seen]), m(iou[unseen])), m(iou)),
            "pixel_acc": (pa_s, pa_u, h(pa_s, pa_u), np.mean(p == g)),
            "mean_acc": (m(acc[seen]), m(acc[unseen]), h(m(acc[seen]), m(acc[unseen])), m(acc))}


@pytest.mark.parametrize("nan_mode", ["zero", "skip"])
def test_against_bruteforce(nan_mode):
    rng = np.random.default_rng(0)
    K, seen, unseen = 6, [0, 1, 2, 4], [3, 5]
    gt = rng.integers(0, K, (3, 20, 20))
    gt[gt == 4] = 2  # class 4 absent from GT ...
    pred = rng.integers(0, K, (3, 20, 20))
    pred[pred == 4] = 1  # ... and from the prediction: 0/0
    gt[0, :5] = 255
    ev = GZSEvaluator(K, seen, unseen, nan_mode=nan_mode)
    for b in range(3):
        ev.update(pred[b], gt[b])
    got = ev.compute()
    ref = brute(pred, gt, K, seen, unseen, nan_mode == "skip")
    for group, vals in ref.items():
        for key, v in zip(("seen", "unseen", "harmonic", "overall"), vals):
            assert got[group][key] == pytest.approx(v, abs=1e-12), (group, key)
    keep = gt < K
    np.testing.assert_array_equal(ev.matrix, sk_cm(gt[keep], pred[keep], labels=list(range(K))))
    assert got["miou"]["per_class"][4] == (0.0 if nan_mode == "zero" else pytest.approx(np.nan, nan_ok=True))


def test_zero_vs_skip_absent_class():
    cm = np.array([[5, 0, 0], [0, 5, 0], [0, 0, 0]])
    z = gzs_scores(cm, [0, 1, 2], [], "zero")
    s = gzs_scores(cm, [0, 1, 2], [], "skip")
    assert z["miou"]["seen"] == pytest.approx(2 / 3) and s["miou"]["seen"] == 1.0


def test_harmonic_and_ignore():
    ev = GZSEvaluator(3, [0, 1], [2])
    gt = np.array([0, 1, 2, 2, 255, 9])
    pred = np.array([0, 1, 2, 0, 1, 1])
    ev.update(pred, gt)
    r = ev.compute()
    assert ev.matrix.sum() == 4  # 255 and out-of-range labels ignored
    s, u = r["miou"]["seen"], r["miou"]["unseen"]
    assert s == pytest.approx((0.5 + 1.0) / 2) and u == pytest.approx(0.5)
    assert r["miou"]["harmonic"] == pytest.approx(2 * s * u / (s + u))
    with pytest.raises(ValueError):
        ev.update(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError):
        GZSEvaluator(3, [0, 1], [1])
