"""Frame-folder loaders on tiny replicas of the official layout, label files, the resize."""

import numpy as np
import pytest
import torch

from cvcore.data.replica import Replica, rng_image
from cvcore.errors import DataError
from cvcore.testing import official_data_dir
from mnad.data import (
    DATASETS,
    Ped2,
    ShanghaiTech,
    VideoFramesDataset,
    list_videos,
    load_labels,
    preprocess,
    read_frame,
    resize_bilinear,
)

PED2_TEST_LENGTHS = [180, 180, 150, 180, 150, 180, 180, 180, 120, 150, 180, 180]  # 2 010 frames


def test_resize_matches_opencv_inter_linear_hand_computed():
    img = torch.arange(16, dtype=torch.float32).reshape(1, 4, 4)
    # half-pixel centres, factor 2: each output is the mean of a 2x2 block (no antialias needed)
    torch.testing.assert_close(resize_bilinear(img, (2, 2)), torch.tensor([[[2.5, 4.5], [10.5, 12.5]]]))
    big = torch.arange(36, dtype=torch.float32).reshape(1, 6, 6)
    # factor 3: output centre (0.5*3 - 0.5) = 1.0 falls on pixel 1 exactly (antialiasing would average)
    torch.testing.assert_close(resize_bilinear(big, (2, 2)), big[:, [1, 4]][:, :, [1, 4]])


def test_preprocess_bgr_range_and_rounding():
    rgb = np.zeros((2, 2, 3), np.uint8)
    rgb[..., 0] = 255  # red
    t = preprocess(rgb, None, "bgr")
    assert t.shape == (3, 2, 2)
    torch.testing.assert_close(t[2], torch.ones(2, 2))  # red is the last channel in BGR
    torch.testing.assert_close(t[0], -torch.ones(2, 2))
    torch.testing.assert_close(preprocess(rgb, None, "rgb")[0], torch.ones(2, 2))
    grey = np.array([[0, 1], [2, 4]], np.uint8).repeat(2, 0).repeat(2, 1)
    small = preprocess(grey, (2, 2), "rgb")
    # uint8 resize rounds back to integers (cv2.resize on uint8), then x/127.5 - 1
    torch.testing.assert_close(small[0], torch.tensor([[0.0, 1.0], [2.0, 4.0]]) / 127.5 - 1)


def test_unpadded_one_based_names_sorted_numerically(tmp_path):
    r = Replica(tmp_path)
    for i in range(1, 11):
        r.image(f"training/frames/01/{i}.png", np.full((8, 8, 3), i * 10, np.uint8))
    vids = list_videos(tmp_path / "training/frames")
    assert [p.name for p in vids[0].frames] == [f"{i}.png" for i in range(1, 11)]
    ds = VideoFramesDataset(tmp_path / "training/frames", t_length=5, size=None, color="rgb")
    assert len(ds) == 10 - 4
    x = ds[0]
    assert x.shape == (15, 8, 8)
    np.testing.assert_allclose(x[::3, 0, 0].numpy(), np.array([10, 20, 30, 40, 50]) / 127.5 - 1, atol=1e-6)
    np.testing.assert_array_equal(ds.target_frames, np.arange(4, 10))


def test_ped2_replica_layout(tmp_path):
    r = Replica(tmp_path / "dataset" / "ped2")
    lengths = {"01": 7, "02": 5, "03": 3}
    for split in ("training", "testing"):
        for v, n in lengths.items():
            for i in range(n):
                r.image(f"{split}/frames/{v}/{i:03d}.jpg", rng_image(24, 36, seed=i))
    ds = Ped2(tmp_path / "dataset", "testing", t_length=5, size=(16, 16))  # parent of ped2/ works
    assert ds.names == ["01", "02", "03"] and ds.lengths == [7, 5, 3]
    assert len(ds) == 3 + 1 + 0 and ds.short_videos == ["03"]
    x = ds[0]
    assert x.shape == (15, 16, 16) and x.min() >= -1 and x.max() <= 1
    ref = read_frame(tmp_path / "dataset/ped2/testing/frames/01/000.jpg", (16, 16))
    torch.testing.assert_close(x[:3], ref)
    assert len(Ped2(tmp_path / "dataset" / "ped2", "training", t_length=1, size=16)) == 15
    assert "training/frames" in Ped2.describe_layout() and set(DATASETS) == {"ped2", "avenue", "shanghai", "folder"}


def test_each_layout_description_names_its_own_folder_and_label_file():
    from mnad.data.layout import LAYOUT

    for name, cls in DATASETS.items():
        text = cls.describe_layout()
        if cls.label_file is None:
            assert text == LAYOUT
        else:
            assert f"{name}/testing/frames/<video>" in text and cls.label_file in text and "::" not in text


@pytest.mark.parametrize("name", ["ped2", "avenue", "shanghai", "folder"])
def test_each_layout_reads_its_replica(tmp_path, name):
    root = tmp_path / (name if name != "folder" else "mycam")
    r = Replica(root)
    for i in range(3):
        r.image(f"testing/frames/01_0014/{i:04d}.jpg", rng_image(12, 20, seed=i))
    ds = DATASETS[name](tmp_path if name != "folder" else root, "testing", t_length=1, size=8)
    assert ds.names == ["01_0014"] and len(ds) == 3 and ds[2].shape == (3, 8, 8)


def test_missing_or_empty_root_names_layout(tmp_path):
    with pytest.raises(DataError, match="training/frames"):
        ShanghaiTech(tmp_path, "training")
    (tmp_path / "training/frames/01").mkdir(parents=True)
    with pytest.raises(DataError, match="no video frames"):
        VideoFramesDataset(tmp_path / "training/frames")


def test_corrupt_frame_is_a_data_error(tmp_path):
    r = Replica(tmp_path)
    r.bytes("v/000.jpg", b"not a jpeg")
    ds = VideoFramesDataset(tmp_path, t_length=1)
    with pytest.raises(DataError, match="000.jpg"):
        ds[0]


def test_load_labels_formats(tmp_path):
    videos = [("01", 3), ("02", 4)]
    flat = np.array([0, 1, 1, 0, 0, 0, 1], np.uint8)
    r = Replica(tmp_path)
    for name, arr in (("flat.npy", flat), ("row.npy", flat.reshape(1, -1).astype(np.int64))):
        out = load_labels(r.npy(name, arr), videos)
        np.testing.assert_array_equal(out["01"], [0, 1, 1])
        np.testing.assert_array_equal(out["02"], [0, 0, 0, 1])
    r.npy("per/01.npy", np.array([1, 0, 0]))
    r.text("per/02.txt", "0 1\n1 0\n")
    out = load_labels(tmp_path / "per", videos)
    np.testing.assert_array_equal(out["02"], [0, 1, 1, 0])
    with pytest.raises(DataError, match="7 labels but"):
        load_labels(tmp_path / "flat.npy", [("01", 3)])
    with pytest.raises(DataError, match="not found"):
        load_labels(tmp_path / "nope.npy", videos)
    with pytest.raises(DataError, match="no labels for video"):
        load_labels(tmp_path / "per", [*videos, ("03", 2)])
    with pytest.raises(DataError, match="0 \\(normal\\)"):
        load_labels(r.npy("bad.npy", np.array([0, 2, 1, 0, 0, 0, 0])), videos)


OFFICIAL = [("ped2", 2010, 1648), ("avenue", 15324, 3867), ("shanghai", 40791, 17326)]


@pytest.mark.parametrize(("name", "frames", "abnormal"), OFFICIAL)
def test_official_label_files(name, frames, abnormal):
    folder = official_data_dir("mnad")
    path = folder / f"frame_labels_{name}.npy" if folder else None
    if path is None or not path.is_file():
        pytest.skip("official MNAD label files are not available")
    labels = load_labels(path, [("all", frames)])["all"]
    assert labels.size == frames and int(labels.sum()) == abnormal
    with pytest.raises(DataError):
        load_labels(path, [("all", frames - 1)])
    if name == "ped2":
        per = load_labels(path, [(f"{i + 1:02d}", n) for i, n in enumerate(PED2_TEST_LENGTHS)])
        assert all(v.sum() > 0 for v in per.values())  # every Ped2 test video contains an anomaly
        # UCSD ground truth of Test001: frames 61-180 (1-based) are abnormal
        np.testing.assert_array_equal(per["01"], np.r_[np.zeros(60), np.ones(120)])
