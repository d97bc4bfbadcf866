"""Raw SBD labels (benchmark_RELEASE/dataset/cls/<id>.mat, struct GTcls) written with scipy.io.savemat."""

import json

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from scipy.io import savemat

from cvcore.data.replica import Replica, rng_image
from cvcore.errors import DataError
from cvcore.viz import voc_palette
from gzs3.data import VOCZeroShot
from gzs3.data._common import read_sbd_label

H, W = 20, 24


def write_gtcls(path, seg):
    """An SBD cls file as the release stores it: GTcls.{Boundaries (20x1 cell of sparse), Segmentation,
    CategoriesPresent}."""
    bnd = np.empty((20, 1), dtype=object)
    for c in range(20):
        edge = np.zeros(seg.shape, bool)
        m = seg == c + 1
        edge[:, 1:] |= m[:, 1:] != m[:, :-1]
        bnd[c, 0] = sp.csc_matrix(edge)
    present = np.unique(seg[(seg > 0) & (seg < 255)]).astype(np.uint8).reshape(-1, 1)
    path.parent.mkdir(parents=True, exist_ok=True)
    savemat(path, {"GTcls": {"Boundaries": bnd, "Segmentation": seg.astype(np.uint8), "CategoriesPresent": present}})


def seg_with(classes, seed):
    rng = np.random.default_rng(seed)
    seg = np.zeros((H, W), np.uint8)
    for c in classes:
        y, x = rng.integers(0, H - 6), rng.integers(0, W - 6)
        seg[y:y + 6, x:x + 6] = c
    return seg


@pytest.fixture
def voc_sbd(tmp_path):
    """VOC train = A, B; VOC val = C, D; SBD train = B, E, C; SBD val = F, D (with no SegmentationClassAug)."""
    voc = Replica(tmp_path / "VOC2012")
    sbd = Replica(tmp_path / "benchmark_RELEASE")
    ids = {k: f"2008_00{i:04d}" for i, k in enumerate("ABCDEF")}
    voc_cls = {"A": [15], "B": [1], "C": [10], "D": [2]}
    sbd_cls = {"B": [3], "E": [10, 15], "C": [10], "F": [7], "D": [2]}
    for k, i in ids.items():
        voc.image(f"JPEGImages/{i}.jpg", rng_image(H, W, seed=ord(k)))
    segs = {}
    for k, cls in voc_cls.items():
        segs["voc", k] = seg_with(cls, ord(k))
        voc.png_indexed(f"SegmentationClass/{ids[k]}.png", segs["voc", k], palette=voc_palette())
    for k, cls in sbd_cls.items():
        segs["sbd", k] = seg_with(cls, 100 + ord(k))
        write_gtcls(sbd.path(f"dataset/cls/{ids[k]}.mat"), segs["sbd", k])
    voc.lines("ImageSets/Segmentation/train.txt", [ids[k] for k in "AB"])
    voc.lines("ImageSets/Segmentation/val.txt", [ids[k] for k in "CD"])
    sbd.lines("dataset/train.txt", [ids[k] for k in "BEC"])
    sbd.lines("dataset/val.txt", [ids[k] for k in "FD"])
    return voc.root, sbd.root, ids, segs


def test_read_sbd_label_matches_written_map(tmp_path):
    seg = seg_with([4, 9], 0)
    seg[0, :3] = 255
    write_gtcls(tmp_path / "a.mat", seg)
    got = read_sbd_label(tmp_path / "a.mat")
    assert got.dtype == np.uint8 and np.array_equal(got, seg)
    one_row = np.array([[0, 5, 5, 0]], np.uint8)  # no squeeze: a 1 x W map stays 2-D
    write_gtcls(tmp_path / "b.mat", one_row)
    assert read_sbd_label(tmp_path / "b.mat").shape == (1, 4)


def test_sbd_bad_files(tmp_path):
    (tmp_path / "bad.mat").write_bytes(b"MATLAB 5.0 MAT-file, truncated")
    with pytest.raises(DataError, match="bad.mat"):
        read_sbd_label(tmp_path / "bad.mat")
    savemat(tmp_path / "inst.mat", {"GTinst": {"Segmentation": np.zeros((2, 2), np.uint8)}})
    with pytest.raises(DataError, match="GTcls"):
        read_sbd_label(tmp_path / "inst.mat")
    savemat(tmp_path / "noseg.mat", {"GTcls": {"Boundaries": np.zeros((2, 2))}})
    with pytest.raises(DataError, match="Segmentation"):
        read_sbd_label(tmp_path / "noseg.mat")
    with pytest.raises(DataError, match="not found"):
        read_sbd_label(tmp_path / "missing.mat")
    with pytest.raises(DataError, match="cls"):
        VOCZeroShot(tmp_path, "train_aug", sbd_root=tmp_path / "nowhere")


def test_train_aug_built_from_voc_and_sbd(voc_sbd):
    root, sbd, ids, segs = voc_sbd
    ds = VOCZeroShot(root, "train_aug", unseen=[], sbd_root=sbd)
    # (SBD train | SBD val | VOC train) - VOC val = A, B, E, F
    assert [p[0].stem for p in ds.items] == [ids[k] for k in "ABEF"]
    expect = {"A": segs["voc", "A"], "B": segs["voc", "B"], "E": segs["sbd", "E"], "F": segs["sbd", "F"]}
    for i, k in enumerate("ABEF"):
        _, lab = ds[i]
        assert torch.equal(lab, torch.from_numpy(expect[k].astype(np.int64))), k  # VOC PNG preferred for B
    removed = VOCZeroShot(root, "train_aug", unseen=[10, 14], sbd_root=sbd)  # E holds cow in its .mat
    assert removed.num_removed == 1 and ids["E"] not in [p[0].stem for p in removed.items]
    ds2 = VOCZeroShot(root, "train_aug", unseen=[], sbd_root=sbd / "dataset")  # the dataset folder works too
    assert ds2.items == ds.items


def test_id_list_falls_back_to_sbd_mat_and_two_column_mat_lines(voc_sbd):
    root, sbd, ids, segs = voc_sbd
    Replica(root).lines("ImageSets/Segmentation/train_aug.txt", [ids["E"], ids["F"]])
    with pytest.raises(DataError, match="SegmentationClassAug"):
        VOCZeroShot(root, "train_aug", unseen=[10])[0]  # without SBD the PNG is required
    ds = VOCZeroShot(root, "train_aug", unseen=[10], sbd_root=sbd)
    assert len(ds) == 1 and torch.equal(ds[0][1], torch.from_numpy(segs["sbd", "F"].astype(np.int64)))
    rel = f"../benchmark_RELEASE/dataset/cls/{ids['E']}.mat"
    Replica(root).lines("ImageSets/Segmentation/train_aug.txt", [f"/JPEGImages/{ids['E']}.jpg /{rel}"])
    assert torch.equal(VOCZeroShot(root, "train_aug")[0][1], torch.from_numpy(segs["sbd", "E"].astype(np.int64)))


def test_cli_train_with_sbd_root(voc_sbd, tmp_path, capsys):
    from gzs3.cli import main

    root, sbd, _, _ = voc_sbd
    emb = tmp_path / "t.npy"
    np.save(emb, np.random.default_rng(0).normal(size=(21, 300)))
    out = tmp_path / "run"
    assert main(["train", "--dataset", "voc", "--data-root", str(root), "--sbd-root", str(sbd), "--embeddings", str(emb),
                 "--backbone", "tiny", "--set", "model.width=8", "--crop", "24", "--batch-size", "2", "--epochs", "1",
                 "--no-eval", "--output-dir", str(out), "-q"]) == 0
    assert json.loads(capsys.readouterr().out)["epochs"] == 1 and (out / "last.pt").is_file()
    assert "sbd_root" in (out / "config.toml").read_text()
