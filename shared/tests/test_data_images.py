import numpy as np
import pytest
import torch
from PIL import Image

from cvcore.data import list_images, read_idx, read_image, read_image_tensor, write_idx, write_image
from cvcore.errors import DataError


def test_round_trip_rgb_and_gray(tmp_path):
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (9, 13, 3), dtype=np.uint8)
    write_image(tmp_path / "a.png", img)
    np.testing.assert_array_equal(read_image(tmp_path / "a.png"), img)
    gray = read_image(tmp_path / "a.png", "L")
    assert gray.shape == (9, 13) and gray.dtype == np.uint8
    t = read_image_tensor(tmp_path / "a.png")
    assert t.shape == (3, 9, 13) and torch.allclose(t, torch.from_numpy(img).permute(2, 0, 1).float() / 255)
    write_image(tmp_path / "b.png", t)
    np.testing.assert_array_equal(read_image(tmp_path / "b.png"), img)


def test_exif_orientation_is_applied(tmp_path):
    img = np.zeros((4, 8, 3), np.uint8)
    img[:, :4] = 255  # left half white
    pil = Image.fromarray(img)
    exif = pil.getexif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    pil.save(tmp_path / "r.jpg", exif=exif, quality=100)
    out = read_image(tmp_path / "r.jpg")
    assert out.shape == (8, 4, 3)
    assert out[:3].mean() > 200 and out[-3:].mean() < 50  # white half ends up on top


def test_missing_and_corrupt_files_name_the_path(tmp_path):
    with pytest.raises(DataError, match="not found: .*nope.png"):
        read_image(tmp_path / "nope.png")
    (tmp_path / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    with pytest.raises(DataError, match="bad.png"):
        read_image(tmp_path / "bad.png")
    good = tmp_path / "t.png"
    write_image(good, np.zeros((64, 64, 3), np.uint8) + 7)
    data = good.read_bytes()
    (tmp_path / "trunc.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match="trunc.png"):
        read_image(tmp_path / "trunc.png")


def test_list_images(tmp_path):
    for n in ("b.png", "a.JPG", "c.txt"):
        (tmp_path / n).write_bytes(b"")
    assert [p.name for p in list_images(tmp_path)] == ["a.JPG", "b.png"]
    with pytest.raises(DataError, match="folder not found"):
        list_images(tmp_path / "none")


@pytest.mark.parametrize("name", ["x.idx", "x.idx.gz"])
@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.int32, np.float32, np.float64])
def test_idx_round_trip(tmp_path, name, dtype):
    arr = (np.arange(2 * 3 * 5) - 7).astype(dtype).reshape(2, 3, 5)
    if dtype is np.uint8:
        arr = np.arange(30, dtype=np.uint8).reshape(2, 3, 5)
    write_idx(tmp_path / name, arr)
    np.testing.assert_array_equal(read_idx(tmp_path / name), arr)


def test_idx_known_bytes_and_errors(tmp_path):
    # hand-written MNIST-style label file: magic 0x00000801, 3 items
    (tmp_path / "l.idx").write_bytes(bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 2, 1]))
    assert read_idx(tmp_path / "l.idx").tolist() == [7, 2, 1]
    (tmp_path / "t.idx").write_bytes(bytes([0, 0, 8, 1, 0, 0, 0, 5, 7]))
    with pytest.raises(DataError, match="truncated"):
        read_idx(tmp_path / "t.idx")
    (tmp_path / "m.idx").write_bytes(b"PK\x03\x04")
    with pytest.raises(DataError, match="magic"):
        read_idx(tmp_path / "m.idx")


@pytest.mark.realdata
def test_real_fashion_mnist_idx(test_data):
    from cvcore.data.classification import FashionMNIST

    test = FashionMNIST(test_data / "fashion-mnist", train=False)
    assert test.data.shape == (10000, 28, 28)
    assert np.bincount(test.targets.numpy()).tolist() == [1000] * 10  # the balanced test split
