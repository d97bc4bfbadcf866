"""Caltech-101 mask transfer: polygon masks, annotation files, LT-ACC / IoU / LOC-ERR, evaluation."""

import math

import numpy as np
import pytest
import replicas
import torch
from skimage.draw import polygon as sk_polygon

from cvcore.data.replica import Replica
from cvcore.errors import DataError
from sfnet.data import Caltech101
from sfnet.data.caltech import CALTECH_CATEGORIES, annotation_path, polygon_mask, read_annotation
from sfnet.engine.evaluate import dense_grid_t2s, evaluate, transfer_mask
from sfnet.flow import regular_grid
from sfnet.keypoint_transfer import padding_scale
from sfnet.metrics import label_transfer_accuracy, localization_error, mask_iou


def _sk_mask(xs, ys, shape):
    m = np.zeros(shape, bool)
    rr, cc = sk_polygon(np.asarray(ys), np.asarray(xs), shape)
    m[rr, cc] = True
    return m


def _rect_mask(shape, x0, y0, x1, y1):
    m = np.zeros(shape, bool)
    m[y0:y1 + 1, x0:x1 + 1] = True
    return m


def _pixel_grid(h, w, dx=0.0, dy=0.0, offset=0.5):
    """Target pixel (x, y) -> source pixel (x + dx + offset, y + dy + offset), normalised (float64)."""
    gy, gx = np.meshgrid(np.arange(h, dtype=np.float64), np.arange(w, dtype=np.float64), indexing="ij")
    return np.stack([2 * (gx + dx + offset) / (w - 1) - 1, 2 * (gy + dy + offset) / (h - 1) - 1], -1)


def test_category_list_and_polygon_rasterisation_match_skimage():
    assert len(CALTECH_CATEGORIES) == 101 and CALTECH_CATEGORIES[:4] == ("Faces", "Faces_easy", "Leopards",
                                                                          "Motorbikes")
    assert CALTECH_CATEGORIES[-1] == "yin_yang" and len(set(CALTECH_CATEGORIES)) == 101
    rng = np.random.default_rng(0)
    for _ in range(60):  # random (also self-intersecting) polygons, partly outside the image
        n = int(rng.integers(3, 12))
        xs, ys = rng.uniform(-5, 45, n), rng.uniform(-5, 35, n)
        np.testing.assert_array_equal(polygon_mask(xs, ys, (30, 40)), _sk_mask(xs, ys, (30, 40)))
    assert not polygon_mask([1, 2], [1, 2], (5, 5)).any()


def test_label_transfer_accuracy_and_iou_closed_form():
    shape = (40, 60)
    a = _rect_mask(shape, 10, 5, 29, 24)  # 20 x 20
    b = _rect_mask(shape, 20, 5, 39, 24)  # shifted by 10 -> overlap 10 x 20
    assert mask_iou(a, b) == pytest.approx(200 / 600)
    assert label_transfer_accuracy(a, b) == pytest.approx(1 - 400 / (40 * 60))
    assert mask_iou(a, a) == 1.0 and label_transfer_accuracy(a, a) == 1.0
    # soft masks are thresholded at 0.5 (strictly greater)
    soft = a * 0.5 + b * 0.6
    assert mask_iou(soft, b) == 1.0
    assert math.isnan(mask_iou(np.zeros(shape), np.zeros(shape)))
    assert label_transfer_accuracy(np.zeros(shape), np.zeros(shape)) == 1.0
    with pytest.raises(ValueError):
        mask_iou(a, a[:-1])


def _loc_err_reference(src_mask, tgt_mask, grid):
    """Literal per-pixel reading of the protocol (1-based positions, int() truncation, obj_ptr)."""
    hs, ws = src_mask.shape
    ht, wt = tgt_mask.shape

    def obj_ptr(m):
        ys, xs = np.nonzero(m)
        left, top, fw, fh = xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1
        return lambda x1, y1: ((x1 - left) / fw, (y1 - top) / fh)  # x1, y1 1-based

    rel_t, rel_s = obj_ptr(tgt_mask), obj_ptr(src_mask)
    errs = []
    for r in range(ht):
        for c in range(wt):
            gx, gy = grid[r, c]
            if not (-1 < gx < 1 and -1 < gy < 1):
                continue
            x2 = gx * (ws - 1) / 2 + 1 + (ws - 1) / 2
            y2 = gy * (hs - 1) / 2 + 1 + (hs - 1) / 2
            if not (1 <= x2 <= ws and 1 <= y2 <= hs):
                continue
            xt, yt = rel_t(c + 1, r + 1)
            xs_, ys_ = rel_s(int(x2), int(y2))  # pixel int(x2) (1-based) = column int(x2) - 1
            errs.append(abs(xt - xs_) + abs(yt - ys_))
    return float(np.mean(errs))


def test_localization_error_brute_force_and_closed_form():
    rng = np.random.default_rng(1)
    src = rng.random((17, 23)) > 0.6
    tgt = rng.random((14, 19)) > 0.5
    grid = rng.uniform(-1.2, 1.2, (14, 19, 2))
    assert localization_error(src, tgt, grid) == pytest.approx(_loc_err_reference(src, tgt, grid), rel=1e-12)
    # closed form: masks 20 px wide, shifted by 10 px, identity grid -> every pixel is off by 10/20 in x
    shape = (30, 50)
    a = _rect_mask(shape, 5, 5, 24, 20)
    b = _rect_mask(shape, 15, 5, 34, 20)
    g = _pixel_grid(*shape)  # +0.5 px: floor() is exact; last row/column fall outside (-1, 1)
    assert localization_error(a, b, g) == pytest.approx(10 / 20)
    assert localization_error(a, a, g) == 0.0
    # the grid that follows the shift makes the error vanish
    assert localization_error(a, b, _pixel_grid(*shape, dx=-10)) == pytest.approx(0.0)
    assert math.isnan(localization_error(np.zeros(shape), b, g))
    assert math.isnan(localization_error(a, b, np.full((*shape, 2), 3.0)))


def test_transfer_mask_follows_the_grid():
    shape = (30, 50)
    a = torch.from_numpy(_rect_mask(shape, 5, 5, 24, 20))
    moved = transfer_mask(a, torch.from_numpy(_pixel_grid(*shape, dx=-10, offset=0.0)).float())
    np.testing.assert_array_equal(moved.numpy() > 0.5, _rect_mask(shape, 15, 5, 34, 20))


def test_loader_reads_csv_polygons_and_annotation_files(tmp_path):
    root = replicas.caltech(tmp_path / "caltech-101")
    ds = Caltech101(root)
    assert len(ds) == 3
    it = ds[0]
    assert it["source_image"].shape == (3, 320, 320) and it["source_mask"].dtype == torch.bool
    assert tuple(it["source_size"].tolist()) == (48, 64) and it["category"] == 0
    np.testing.assert_array_equal(it["source_mask"].numpy(), _rect_mask((48, 64), 10, 8, 40, 30))
    poly = np.array([[12.6, 55.1, 20.9, 9.3], [6.1, 20.2, 44.8, 30.5]])
    np.testing.assert_array_equal(ds[2]["target_mask"].numpy(), _sk_mask(poly[0], poly[1], (48, 64)))
    assert ds[2]["category"] == CALTECH_CATEGORIES.index("yin_yang")
    # the annotation path: box_coord + obj_contour give the same polygons; Faces lives in Faces_2
    assert annotation_path(root, "101_ObjectCategories/Faces/image_0001.jpg").parent.name == "Faces_2"
    np.testing.assert_allclose(read_annotation(annotation_path(root, ds.pairs[2]["tgt"])), poly)
    # a list written without the 101_ObjectCategories/ prefix finds the same images
    csv = root / "test_pairs_caltech_with_category.csv"
    csv.write_text(csv.read_text().replace("101_ObjectCategories/", ""))
    assert torch.equal(Caltech101(root)[1]["target_image"], ds[1]["target_image"])
    via_mat = Caltech101(root, polygons="annotations")
    for i in range(3):
        for k in ("source_mask", "target_mask"):
            assert torch.equal(via_mat[i][k], ds[i][k]), (i, k)


def test_loader_errors(tmp_path):
    with pytest.raises(DataError, match="test_pairs_caltech_with_category.csv"):
        Caltech101(tmp_path)
    with pytest.raises(DataError, match="root not found"):
        Caltech101(tmp_path / "missing")
    r = Replica(tmp_path / "bad")
    head = "source_image,target_image,class,XA,YA,XB,YB"
    r.lines("test_pairs_caltech_with_category.csv", [head, 'a.jpg,b.jpg,1,"1,2,x","1,2,3","1,2,3","1,2,3"'])
    with pytest.raises(DataError, match="XA"):
        Caltech101(r.root)
    r.lines("test_pairs_caltech_with_category.csv", [head, 'a.jpg,b.jpg,102,"1,2,3","1,2,3","1,2,3","1,2,3"'])
    with pytest.raises(DataError, match="1..101"):
        Caltech101(r.root)
    r.lines("test_pairs_caltech_with_category.csv", [head, 'a.jpg,b.jpg,0,"1,2,3","1,2,3","1,2,3","1,2,3"',
                                                     'a.jpg,b.jpg,100,"1,2,3","1,2,3","1,2,3","1,2,3"'])
    assert [p["category"] for p in Caltech101(r.root).pairs] == [0, 100]  # a 0-based column
    r.lines("test_pairs_caltech_with_category.csv", [head, 'a.jpg,b.jpg,cat,"1,2,3","1,2,3","1,2,3","1,2,3"'])
    with pytest.raises(DataError, match="category must be a number"):
        Caltech101(r.root)
    r.lines("test_pairs_caltech_with_category.csv", [head, 'a.jpg,b.jpg,1,"1,2,3","1,2","1,2,3","1,2,3"'])
    with pytest.raises(DataError, match="same number"):
        Caltech101(r.root)
    r.lines("test_pairs_caltech_with_category.csv", [head, "101_ObjectCategories/ant/image_0001.jpg,b.jpg,8"])
    ds = Caltech101(r.root, polygons="annotations")
    with pytest.raises(DataError, match="image not found"):
        ds[0]
    with pytest.raises(DataError, match="annotation file not found"):
        ds._polygon(ds.pairs[0], "src")
    r.bytes("Annotations/ant/annotation_0001.mat", b"MATLAB 5.0 garbage")
    with pytest.raises(DataError, match="annotation"):
        read_annotation(r.root / "Annotations/ant/annotation_0001.mat")
    with pytest.raises(ValueError):
        Caltech101(r.root, polygons="boxes")


class CorrectedIdentity(torch.nn.Module):
    """Outputs the grid that the official padding correction turns into the exact identity."""

    feature_size = (20, 20)

    def forward(self, src, tgt):
        h, w = src.shape[-2] // 16, src.shape[-1] // 16
        g = torch.zeros(h, w, 2)
        inner = regular_grid(h - 2, w - 2)
        g[1:-1, 1:-1] = inner / torch.tensor([padding_scale(w), padding_scale(h)])
        g = g[None].expand(len(src), -1, -1, -1)
        return type("Out", (), {"grid_t2s": g, "grid_s2t": g})()


def test_dense_grid_and_evaluation_on_replica(tmp_path):
    g = dense_grid_t2s(CorrectedIdentity()(torch.zeros(1, 3, 320, 320), None).grid_t2s[0], (48, 64))
    torch.testing.assert_close(g, regular_grid(48, 64), atol=1e-6, rtol=0)
    shape = (48, 64)
    pairs = [("Faces", replicas.rect_polygon(10, 8, 40, 30), replicas.rect_polygon(10, 8, 40, 30), True),
             ("ant", replicas.rect_polygon(5, 5, 24, 20), replicas.rect_polygon(15, 5, 34, 20), True)]
    root = replicas.caltech(tmp_path / "c", pairs=pairs, size=shape, annotations=False)
    res = evaluate(CorrectedIdentity(), Caltech101(root, feature_size=(8, 8)))  # 128 px inputs: fast
    assert res["n_pairs"] == 2 and set(res["per_category"]) == {"Faces", "ant"}
    ant = res["per_category"]["ant"]
    assert res["per_category"]["Faces"]["iou"] == pytest.approx(1.0) and ant["iou"] == pytest.approx(10 / 30)
    assert ant["lt_acc"] == pytest.approx(1 - 2 * 10 * 16 / (48 * 64))
    assert res["iou"] == pytest.approx((1 + 10 / 30) / 2)
    # LOC-ERR of the identity grid: boxes 20 px wide, shifted by 10 px. The grid points sit on pixel
    # centres, where the protocol's floor() lands on the pixel or (float rounding) the one before:
    # each pixel is off by 10/20 or 11/20 in x and by 0 or 1/16 in y (box 16 px high); for the
    # identical 31 x 23 px boxes by 0 or 1/31 in x and 0 or 1/23 in y.
    assert 10 / 20 - 1e-9 <= ant["loc_err"] <= 11 / 20 + 1 / 16 + 1e-9
    assert 0.0 <= res["per_category"]["Faces"]["loc_err"] <= 1 / 31 + 1 / 23 + 1e-9
