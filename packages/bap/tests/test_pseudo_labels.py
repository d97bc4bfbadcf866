import numpy as np
import pytest
import torch

from bap.crf import CRFParams
from bap.data import SyntheticBoxDataset, boxes_to_bg_mask, boxes_union_masks
from bap.metrics import SegmentationEvaluator
from bap.pseudo_labels import pseudo_labels_from_features

C = 4


def _oracle(sample, seed=0, noise=0.3):
    """Features = one-hot of the true class plus noise; classifier weights = one-hot."""
    rng = np.random.default_rng(seed)
    h, w = sample.mask.shape
    f = np.eye(8)[sample.mask].transpose(2, 0, 1) + rng.normal(0, noise, (8, h, w))
    return torch.from_numpy(f.astype(np.float32)), torch.eye(C, 8)


def test_oracle_features_give_accurate_pseudo_labels():
    ds = SyntheticBoxDataset(4, (40, 48), num_classes=3, seed=1)
    ev_c, ev_r = SegmentationEvaluator(C), SegmentationEvaluator(C)
    for i in range(len(ds)):
        s = ds[i]
        f, wts = _oracle(s, i)
        pl = pseudo_labels_from_features(f, wts, s.image, s.boxes, crf=CRFParams(4, 55, 3, 3, 3), crf_iterations=5)
        ev_c.update(pl.y_crf, s.mask)
        ev_r.update(pl.y_ret, s.mask)
        bg = boxes_to_bg_mask(s.boxes, 40, 48).astype(bool)
        assert (pl.y_crf[bg] == 0).all() and (pl.y_ret[bg] == 0).all()
        assert (pl.u0[bg] == 1).all()
    assert ev_c.compute()["miou"] > 0.9
    assert ev_r.compute()["miou"] > 0.9


def test_labels_inside_boxes_only_background_or_covering_class():
    rng = np.random.default_rng(0)
    for _trial in range(6):
        h, w = 24, 30
        boxes = []
        for _ in range(rng.integers(1, 4)):
            x1, y1 = rng.integers(0, w - 5), rng.integers(0, h - 5)
            boxes.append([x1, y1, rng.integers(x1 + 2, w + 1), rng.integers(y1 + 2, h + 1), rng.integers(1, C)])
        boxes = np.asarray(boxes, np.float32)
        f = torch.randn(6, h, w)
        img = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        pl = pseudo_labels_from_features(f, torch.randn(C, 6), img, boxes, crf_iterations=3)
        unions = boxes_union_masks(boxes, h, w)
        for y in (pl.y_crf, pl.y_ret):
            for c in range(1, C):
                sel = y == c
                assert not sel.any() or (c in unions and unions[c][sel].all())


def test_threshold_zeroes_values_below_099_of_max():
    h, w = 10, 12
    f = torch.zeros(2, h, w)
    f[0] = 1.0  # background direction
    f[1, 2:8, 2:8] = torch.linspace(0, 3, 36).view(6, 6)  # increasingly foreground
    boxes = np.array([[2, 2, 8, 8, 1]], np.float32)
    pl = pseudo_labels_from_features(f, torch.tensor([[1.0, 0], [0, 1.0]]), np.zeros((h, w, 3), np.uint8), boxes,
                                     crf=None)
    cos = (f[0] / f.norm(dim=0)).numpy()
    inside = ~boxes_to_bg_mask(boxes, h, w).astype(bool)
    expect = np.where(cos >= 0.99 * cos.max(), cos, 0)
    np.testing.assert_allclose(pl.u0[inside], expect[inside], rtol=1e-5)
    assert (pl.u0[inside] == 0).sum() > 0 and (pl.u0[inside] > 0).sum() > 0


def test_retrieval_falls_back_to_classifier_weight(monkeypatch):
    import bap.pseudo_labels as pl_mod

    h, w = 8, 8
    f = torch.zeros(3, h, w)
    f[0] = 1.0
    f[0, 2:6, 2:6] = 0.0
    f[2, 2:6, 2:6] = 1.0
    boxes = np.array([[2, 2, 6, 6, 1]], np.float32)

    def crf_without_class_1(image, prob, params, iterations, backend):
        q = prob.copy()
        q[1] = 0.0  # Y_crf gets no pixel of GT class 1
        return q

    monkeypatch.setattr(pl_mod, "dense_crf", crf_without_class_1)
    img = np.zeros((h, w, 3), np.uint8)
    w_a = torch.tensor([[1.0, 0, 0], [0, 0, 1.0], [0, 0, 1.0]])  # w_1 along the box features
    w_b = torch.tensor([[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0]])  # w_1 orthogonal to them
    pa = pl_mod.pseudo_labels_from_features(f, w_a, img, boxes)
    pb = pl_mod.pseudo_labels_from_features(f, w_b, img, boxes)
    assert not (pa.y_crf == 1).any() and not (pb.y_crf == 1).any()
    assert (pa.y_ret[2:6, 2:6] == 1).all()  # prototype = w_1 -> cos 1 with the box features
    assert not (pb.y_ret == 1).any()  # prototype = w_1 orthogonal -> C_1 = 0


def test_no_background_pixels_default_and_official():
    h, w = 6, 6
    boxes = np.array([[0, 0, 6, 6, 1]], np.float32)
    f = torch.rand(4, h, w)
    with pytest.warns(UserWarning):
        pl = pseudo_labels_from_features(f, torch.rand(C, 4), np.zeros((h, w, 3), np.uint8), boxes, crf=None)
    assert (pl.u0 == 0).all() and np.isfinite(pl.unary).all()
    with pytest.raises(ValueError):
        pseudo_labels_from_features(f, torch.rand(C, 4), np.zeros((h, w, 3), np.uint8), boxes, crf=None,
                                    compat="official")
