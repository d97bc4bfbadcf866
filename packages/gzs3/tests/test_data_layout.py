import numpy as np
import pytest
import torch

from cvcore.errors import DataError
from gzs3.data import (
    ContextZeroShot,
    SyntheticZeroShot,
    TrainTransform,
    VOCZeroShot,
    synthetic_class_table,
)
from gzs3.data.transforms import denormalize


def test_voc_train_removes_unseen_images(voc_root):
    full = VOCZeroShot(voc_root, "train_aug", unseen=[])
    assert len(full) == 4
    ds = VOCZeroShot(voc_root, "train_aug", unseen=[10, 14])
    assert len(ds) == 3 and ds.num_removed == 1
    for i in range(len(ds)):
        img, lab = ds[i]
        assert img.dtype == torch.float32 and img.shape[0] == 3 and lab.dtype == torch.long
        assert not torch.isin(lab, torch.tensor([10, 14])).any()
    val = VOCZeroShot(voc_root, "val", unseen=[10, 14])
    assert len(val) == 4  # every val image is evaluated
    img, lab = val[1]
    assert (lab == 10).any() and (lab[0] == 255).all()  # palette PNG read as class ids


def test_voc_one_id_per_line_and_errors(voc_root, tmp_path):
    (voc_root / "ImageSets/Segmentation/train_aug.txt").write_text("2007_000032\n2007_000033\n")
    assert len(VOCZeroShot(voc_root, "train_aug", unseen=[10, 14])) == 1
    with pytest.raises(DataError, match="ImageSets/Segmentation/train.txt"):
        VOCZeroShot(voc_root, "train")
    with pytest.raises(DataError, match="JPEGImages"):
        VOCZeroShot(tmp_path / "nowhere", "val")
    (voc_root / "JPEGImages/2007_000039.jpg").write_bytes(b"not a jpeg")
    val = VOCZeroShot(voc_root, "val")
    with pytest.raises(DataError, match="corrupt"):
        val[2]
    (voc_root / "SegmentationClass/2007_000042.png").unlink()
    with pytest.raises(DataError, match="not found"):
        val[3]


def test_context_layout(context_root):
    root, img_root = context_root
    tr = ContextZeroShot(root, "train", unseen=[10, 14], image_root=img_root)
    assert len(tr) == 2 and tr.num_removed == 1  # the image with cow is gone
    va = ContextZeroShot(root, "val", unseen=[10, 14], image_root=img_root)
    assert len(va) == 2
    img, lab = va[0]
    assert img.shape == (3, 20, 28) and lab.shape == (20, 28) and (lab == 56).any()
    (root / "59_labels.pth").unlink()
    with pytest.raises(DataError, match="59_labels.pth"):
        ContextZeroShot(root, "val", image_root=img_root)


def test_context_missing_stem(context_root):
    root, img_root = context_root
    (root / "pascal_context_val.txt").write_text("JPEGImages/x.jpg labels/2099_000000.png\n")
    with pytest.raises(DataError, match="2099_000000"):
        ContextZeroShot(root, "val", image_root=img_root)


def test_train_transform_geometry_and_alignment():
    # an image whose colour encodes the label must stay consistent after augmentation
    rng = np.random.default_rng(0)
    lab = rng.integers(0, 5, (10, 14)).repeat(8, 0).repeat(8, 1).astype(np.uint8)  # 80 x 112 blocks
    img = np.stack([lab * 40, lab * 40, lab * 40], -1).astype(np.uint8)
    t = TrainTransform(crop=96, scale=(0.5, 1.5))
    padded_seen, checked = False, 0
    for _ in range(30):
        x, y = t(img, lab)
        assert x.shape == (3, 96, 96) and y.shape == (96, 96)
        y = y.numpy()
        back = denormalize(x)[..., 0].astype(int)
        same = np.ones_like(y, dtype=bool)  # pixels whose 7x7 window has one label (antialiased resize)
        yp = np.pad(y, 3, mode="edge")
        for dy in range(7):
            for dx in range(7):
                same &= yp[dy:dy + 96, dx:dx + 96] == y
        same[:3] = same[-3:] = same[:, :3] = same[:, -3:] = False  # a boundary may sit just outside the crop
        interior = same & (y != 255)
        checked += int(interior.sum())
        err = np.abs(back[interior] - 40 * y[interior].astype(int))
        assert err.size == 0 or err.max() <= 2
        pad = y == 255
        if pad.any():  # padding only on the right/bottom: a padded pixel's right/lower neighbours are padded
            padded_seen = True
            assert (pad[:, 1:] >= pad[:, :-1]).all() and (pad[1:] >= pad[:-1]).all()
            assert pad[-1, -1]
            assert (back[pad] <= 1).all()  # padded image pixels are 0 before normalisation
    assert padded_seen and checked > 1000


def test_synthetic_set():
    tab = synthetic_class_table()
    assert tab.shape == (7, 8) and abs(tab.norm(dim=1).max().item() - 1) < 1e-6
    ds = SyntheticZeroShot(6, 48, classes=[1, 3, 4, 5])
    labs = [ds[i][1] for i in range(6)]
    allv = torch.cat([x.flatten() for x in labs]).unique().tolist()
    assert set(allv) <= {0, 1, 3, 4, 5, 255} and len(set(allv) & {1, 3, 4, 5}) >= 2
    a, b = ds.sample(2), SyntheticZeroShot(6, 48, classes=[1, 3, 4, 5]).sample(2)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])  # seeded
    with pytest.raises(ValueError):
        SyntheticZeroShot(3, classes=[0])


def test_convert_raw_context_mat(tmp_path):
    from scipy.io import savemat

    from gzs3.data import convert_context_mat
    from gzs3.splits import CONTEXT_CLASSES

    raw = ["accordion", "aeroplane", "diningtable", "bedcloth", "clothes"] + [
        n for n in CONTEXT_CLASSES[1:] if n not in ("aeroplane", "table", "bedclothes", "cloth")] + ["zebra"]
    (tmp_path / "labels.txt").write_text("".join(f"{i}: {n}\n" for i, n in enumerate(raw, 1)))
    ids = {n: i for i, n in enumerate(raw, 1)}
    lm = np.array([[ids["accordion"], ids["aeroplane"]], [ids["diningtable"], ids["zebra"]],
                   [ids["bedcloth"], ids["wood"]]])
    (tmp_path / "trainval").mkdir()
    savemat(tmp_path / "trainval" / "2008_000002.mat", {"LabelMap": lm})
    out = convert_context_mat(tmp_path / "trainval", tmp_path / "labels.txt", tmp_path / "59_labels.pth")
    got = out["2008_000002"].numpy()
    expect = [[0, 1], [CONTEXT_CLASSES.index("table"), 0], [CONTEXT_CLASSES.index("bedclothes"), 59]]
    assert got.tolist() == expect
    assert torch.equal(torch.load(tmp_path / "59_labels.pth", weights_only=True)["2008_000002"], out["2008_000002"])
    (tmp_path / "labels.txt").write_text("1: accordion\n")
    with pytest.raises(DataError, match="not found"):
        convert_context_mat(tmp_path / "trainval", tmp_path / "labels.txt", tmp_path / "x.pth")
