import json

import numpy as np
import pytest
import torch

from bap.data import (
    COCOBoxes,
    SyntheticBoxDataset,
    VOCBoxes,
    VOCPseudoLabels,
    VOCSegmentation,
    boxes_to_bg_mask,
    read_voc_xml,
    write_voc_layout,
)
from bap.data.transforms import augment, clip_boxes
from cvcore.data.replica import Replica, rng_image
from cvcore.errors import DataError
from cvcore.viz import voc_palette

XML_ONE = """<annotation><filename>2007_000032.jpg</filename><size><width>12</width><height>10</height><depth>3</depth>
</size><object><name>aeroplane</name><pose>Frontal</pose><truncated>0</truncated><difficult>0</difficult>
<bndbox><xmin>2</xmin><ymin>3</ymin><xmax>8</xmax><ymax>7</ymax></bndbox></object></annotation>"""

XML_TWO = """<annotation><filename>2007_000033.jpg</filename><size><width>12</width><height>10</height></size>
<object><name>person</name><difficult>1</difficult><bndbox><xmin>1.5</xmin><ymin>0</ymin><xmax>5</xmax>
<ymax>9</ymax></bndbox></object><object><name>tvmonitor</name><truncated>1</truncated><bndbox><xmin>4</xmin>
<ymin>2</ymin><xmax>12</xmax><ymax>10</ymax></bndbox></object></annotation>"""


def _voc(tmp_path):
    r = Replica(tmp_path / "VOCdevkit" / "VOC2012")
    for sid, xml in (("2007_000032", XML_ONE), ("2007_000033", XML_TWO)):
        r.image(f"JPEGImages/{sid}.jpg", rng_image(10, 12, seed=1))
        r.text(f"Annotations/{sid}.xml", xml)
        r.png_indexed(f"SegmentationClassAug/{sid}.png", np.full((10, 12), 1, np.uint8), palette=voc_palette())
    r.lines("ImageSets/Segmentation/train_aug.txt", ["2007_000032", "2007_000033"])
    r.lines("ImageSets/Segmentation/val.txt", ["2007_000033"])
    return r


def test_xml_single_and_multiple_objects(tmp_path):
    r = _voc(tmp_path)
    a = read_voc_xml(r.root / "Annotations/2007_000032.xml")
    assert a.boxes.tolist() == [[2, 3, 8, 7, 1]] and (a.width, a.height) == (12, 10)
    b = read_voc_xml(r.root / "Annotations/2007_000033.xml")
    assert b.boxes[:, 4].tolist() == [15, 20] and b.boxes[0, 0] == 1.5
    assert b.difficult.tolist() == [True, False] and b.truncated.tolist() == [False, True]  # nothing filtered
    r.text("Annotations/bad.xml", "<annotation><object><name>unicorn</name></object></annotation>")
    with pytest.raises(DataError, match="unknown class"):
        read_voc_xml(r.root / "Annotations/bad.xml")
    r.text("Annotations/broken.xml", "<annotation>")
    with pytest.raises(DataError, match="malformed"):
        read_voc_xml(r.root / "Annotations/broken.xml")


def test_bg_mask_matches_brute_force():
    rng = np.random.default_rng(0)
    for _ in range(10):
        h, w = 13, 17
        boxes = np.concatenate([rng.uniform(-2, 19, (3, 4)), np.ones((3, 1))], 1)
        boxes[:, [0, 2]] = np.sort(boxes[:, [0, 2]], 1)
        boxes[:, [1, 3]] = np.sort(boxes[:, [1, 3]], 1)
        m = boxes_to_bg_mask(boxes, h, w)
        ref = np.ones((h, w), np.uint8)
        for y in range(h):
            for x in range(w):
                for b in boxes:
                    if np.floor(b[1]) <= y <= np.floor(b[3]) - 1 and np.floor(b[0]) <= x <= np.floor(b[2]) - 1:
                        ref[y, x] = 0
        np.testing.assert_array_equal(m, ref)


def test_voc_loaders_read_the_layout(tmp_path):
    r = _voc(tmp_path)
    ds = VOCBoxes(r.root, "train_aug")
    item = ds[1]
    assert item["image"].shape == (10, 12, 3) and item["boxes"].shape == (2, 5)
    np.testing.assert_array_equal(item["bg_mask"], boxes_to_bg_mask(item["boxes"], 10, 12))  # generated
    r.image("BgMaskfromBoxes/2007_000033.png", np.zeros((10, 12), np.uint8))
    assert ds[1]["bg_mask"].sum() == 0  # the file wins when present
    seg = VOCSegmentation(r.root, "val")
    assert len(seg) == 1 and (seg[0]["mask"] == 1).all()
    with pytest.raises(DataError, match="pseudo-label folder"):
        VOCPseudoLabels(r.root)
    for d in ("Ycrf", "Yret"):
        for sid in ("2007_000032", "2007_000033"):
            r.png_indexed(f"Generation/{d}/{sid}.png", np.full((10, 12), 2 if d == "Ycrf" else 0, np.uint8),
                          palette=voc_palette())
    pl = VOCPseudoLabels(r.root)
    assert (pl[0]["y_crf"] == 2).all() and (pl[0]["y_ret"] == 0).all()
    # semi-supervised: GT masks replace both label maps of the listed images only
    gt = np.zeros((10, 12), np.uint8)
    gt[2:5, 3:9] = 7
    gt[0, 0] = 255
    r.png_indexed("SegmentationClassAug/2007_000033.png", gt, palette=voc_palette())
    semi = VOCPseudoLabels(r.root, gt_mask_ids=["2007_000033"])
    i33 = semi.ids.index("2007_000033")
    np.testing.assert_array_equal(semi[i33]["y_crf"], gt)
    np.testing.assert_array_equal(semi[i33]["y_ret"], gt)
    assert semi[i33]["gt_mask"] and not semi[1 - i33]["gt_mask"]
    assert (semi[1 - i33]["y_crf"] == 2).all() and (semi[1 - i33]["y_ret"] == 0).all()
    with pytest.raises(DataError, match="not in split"):
        VOCPseudoLabels(r.root, gt_mask_ids=["2099_000001"])


def test_missing_and_malformed_layouts_name_the_path(tmp_path):
    with pytest.raises(DataError, match="VOC root not found"):
        VOCBoxes(tmp_path / "nope")
    r = _voc(tmp_path)
    with pytest.raises(DataError, match="train.txt"):
        VOCBoxes(r.root, "train")
    (r.root / "JPEGImages/2007_000032.jpg").write_bytes(b"garbage")
    with pytest.raises(DataError, match="2007_000032"):
        VOCBoxes(r.root)[0]


def test_coco_boxes(tmp_path):
    r = Replica(tmp_path / "coco")
    r.image("train2017/000000000009.jpg", rng_image(20, 30))
    r.json("annotations/instances_train2017.json", {
        "images": [{"id": 9, "file_name": "000000000009.jpg", "width": 30, "height": 20}],
        "categories": [{"id": 18, "name": "dog"}, {"id": 1, "name": "person"}],
        "annotations": [{"image_id": 9, "bbox": [2, 3, 10, 5], "category_id": 18},
                        {"image_id": 9, "bbox": [0, 0, 4, 4], "category_id": 1}]})
    ds = COCOBoxes(r.root)
    item = ds[0]
    assert item["boxes"].tolist() == [[2, 3, 12, 8, 2], [0, 0, 4, 4, 1]]
    assert item["bg_mask"][3:8, 2:12].sum() == 0 and item["bg_mask"][10:, :].all()
    with pytest.raises(DataError):
        COCOBoxes(tmp_path / "none")
    r.text("annotations/instances_val2017.json", json.dumps({"images": []}))
    with pytest.raises(DataError, match="malformed"):
        COCOBoxes(r.root, split="val2017")


def test_synthetic_layout_and_determinism(tmp_path):
    ds = SyntheticBoxDataset(3, (32, 32), seed=2)
    a, b = ds[1], SyntheticBoxDataset(3, (32, 32), seed=2)[1]
    np.testing.assert_array_equal(a.image, b.image)
    for s in (ds[i] for i in range(3)):
        covered = np.zeros_like(s.mask, dtype=bool)
        for box in s.boxes:  # tight boxes: every border row/column touches the object
            x1, y1, x2, y2, c = (int(v) for v in box)
            sub = s.mask[y1:y2, x1:x2] == c
            assert sub[0].any() and sub[-1].any() and sub[:, 0].any() and sub[:, -1].any()
            covered[y1:y2, x1:x2] |= s.mask[y1:y2, x1:x2] == c
        assert (covered == (s.mask > 0)).all()
    root = write_voc_layout(tmp_path / "VOC2012", ds)
    loaded = VOCBoxes(root)
    assert len(loaded) == 3
    np.testing.assert_array_equal(loaded[0]["image"], ds[0].image)
    np.testing.assert_array_equal(VOCSegmentation(root, "train_aug").mask(0), ds[0].mask)


def test_augment_keeps_boxes_consistent_with_masks():
    g = torch.Generator().manual_seed(0)
    for trial in range(8):
        h, w = 40 + trial * 7, 60 - trial * 3
        img = torch.randint(0, 255, (3, h, w), dtype=torch.uint8)
        box = torch.tensor([[5.0, 6.0, w - 9.0, h - 4.0, 3.0]])
        obj = torch.zeros(h, w, dtype=torch.uint8)
        obj[6:h - 4, 5:w - 9] = 1
        out, b, (m, lab) = augment(img, box, [obj, obj * 7], [0, 255], g, crop=48)
        assert out.shape == (3, 48, 48) and m.shape == (48, 48)
        assert set(torch.unique(lab).tolist()) <= {0, 7, 255}
        if b.shape[0] and m.any():
            ys, xs = torch.nonzero(m, as_tuple=True)
            # clip_bbox sets edges beyond the crop to crop + 1 (a flip then gives -1): compare inside the crop
            x1, y1 = max(float(b[0, 0]), 0.0), max(float(b[0, 1]), 0.0)
            x2, y2 = min(float(b[0, 2]), 48.0), min(float(b[0, 3]), 48.0)
            # nearest resizing of the mask (floor(i / s)) vs boxes times s: up to 1 px plus the size rounding
            assert abs(float(xs.min()) - x1) <= 1.5 and abs(float(xs.max()) + 1 - x2) <= 1.5, (trial, b)
            assert abs(float(ys.min()) - y1) <= 1.5 and abs(float(ys.max()) + 1 - y2) <= 1.5, (trial, b)


def test_clip_boxes_rule():
    b = torch.tensor([[-3.0, 2.0, 10.0, 400.0, 1], [330.0, 0, 340.0, 5.0, 2], [0, 0, 5, 5, 3]])
    out = clip_boxes(b, 321)
    assert out.tolist() == [[0, 2, 10, 322, 1], [0, 0, 5, 5, 3]]


def test_synthetic_loose_boxes_are_tight_boxes_of_the_mask_enlarged():
    from bap.data import SyntheticBoxDataset

    for i in range(4):
        tight = SyntheticBoxDataset(4, (40, 48), seed=3)[i]
        loose = SyntheticBoxDataset(4, (40, 48), seed=3, box_margin=3)[i]
        np.testing.assert_array_equal(tight.image, loose.image)
        for b in tight.boxes:  # tight box = bounding box of the class mask pixels, VOC end convention
            ys, xs = np.nonzero(tight.mask == b[4])
            assert xs.min() <= b[0] and b[2] <= xs.max() + 1 and ys.min() <= b[1] and b[3] <= ys.max() + 1
        exp = tight.boxes.copy()
        exp[:, :2] = np.maximum(exp[:, :2] - 3, 0)
        exp[:, 2] = np.minimum(exp[:, 2] + 3, 48)
        exp[:, 3] = np.minimum(exp[:, 3] + 3, 40)
        np.testing.assert_array_equal(loose.boxes, exp)
