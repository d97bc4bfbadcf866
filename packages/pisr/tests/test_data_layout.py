"""Loaders against tiny replicas of the official DIV2K and benchmark layouts."""

import numpy as np
import pytest
import torch

from cvcore.data.replica import Replica, rng_image
from cvcore.errors import DataError
from pisr.data import (
    PairedPatches,
    PatchDataset,
    benchmark_folder,
    div2k_train,
    div2k_val,
    imresize,
    make_pair,
    rgb_to_y,
)
from pisr.data.div2k import describe_layout


def _div2k(root, scale, n=3, size=(40, 36), with_lr=True):
    r = Replica(root / "DIV2K")
    for i in list(range(1, n + 1)) + [801]:
        hr = rng_image(*size, seed=i)
        r.image(f"DIV2K_train_HR/{i:04d}.png", hr)
        if with_lr:
            crop = hr[: size[0] // scale * scale, : size[1] // scale * scale]  # MATLAB LR of the cropped HR
            r.image(f"DIV2K_train_LR_bicubic/X{scale}/{i:04d}x{scale}.png", imresize(crop, 1 / scale))
    return r


def test_div2k_layout_train_and_val(tmp_path):
    _div2k(tmp_path, 2)
    ds = div2k_train(tmp_path, 2, patch_size=16)
    assert len(ds) == 3  # 0801 is validation, not training
    lr, hr = ds[0]
    assert lr.shape == (1, 8, 8) and hr.shape == (1, 16, 16) and lr.dtype == torch.float32
    val = div2k_val(tmp_path, 2)
    assert len(val) == 1 and val[0][2] == "0801"
    assert "DIV2K_train_LR_bicubic" in describe_layout()


def test_div2k_lr_from_files_equals_generated(tmp_path):
    _div2k(tmp_path, 3, size=(31, 40))
    with_files = div2k_val(tmp_path, 3)
    hr = rng_image(31, 40, seed=801)
    _, hr_y, lr_y = with_files.items[0]
    ref_hr, ref_lr = make_pair(hr, 3)
    assert hr_y.shape == (30, 39) and np.allclose(hr_y, ref_hr) and np.allclose(lr_y, ref_lr, atol=0.6 / 255)


def test_missing_root_names_the_layout(tmp_path):
    with pytest.raises(DataError, match="DIV2K_train_HR"):
        div2k_train(tmp_path, 2, patch_size=16)
    with pytest.raises(DataError, match="LR_bicubic"):
        benchmark_folder(tmp_path, "Set5", 2)


def test_missing_lr_file_is_a_clear_error(tmp_path):
    r = _div2k(tmp_path, 2)
    (r.root / "DIV2K_train_LR_bicubic/X2/0002x2.png").unlink()
    with pytest.raises(DataError, match="0002x2.png"):
        div2k_train(tmp_path, 2, patch_size=16)


def test_corrupt_image_is_a_clear_error(tmp_path):
    r = Replica(tmp_path / "benchmark" / "Set5")
    r.bytes("HR/baby.png", b"not a png")
    with pytest.raises(DataError, match="baby.png"):
        benchmark_folder(tmp_path, "Set5", 2)


def test_benchmark_layout_with_and_without_lr(tmp_path):
    r = Replica(tmp_path / "benchmark" / "Set14")
    hr = rng_image(26, 30, seed=5)
    r.image("HR/comic.png", hr)
    ds = benchmark_folder(tmp_path, "Set14", 4)
    lr, hr_t, name = ds[0]
    assert name == "comic" and lr.shape == (1, 6, 7) and hr_t.shape == (1, 24, 28)
    r.image("LR_bicubic/X4/comicx4.png", imresize(hr[:24, :28], 0.25))
    ds2 = benchmark_folder(tmp_path / "benchmark", "Set14", 4)  # root may also be the benchmark folder
    assert torch.allclose(ds2[0][0], lr, atol=0.6 / 255)


def test_grey_benchmark_image_is_replicated_before_e1(tmp_path):
    r = Replica(tmp_path / "benchmark" / "Set5")
    grey = rng_image(16, 16, channels=1, seed=2)
    r.image("HR/grey.png", grey)
    _, hr, _ = benchmark_folder(tmp_path, "Set5", 2)[0]
    assert np.allclose(hr[0].numpy(), rgb_to_y(np.repeat(grey[..., None], 3, axis=2)), atol=1e-6)


def test_patches_are_aligned_and_augmented_together():
    # LR = 3x3 block means of HR: alignment is checkable exactly and commutes with flips/transpose
    hr = np.random.default_rng(0).random((60, 48)).astype(np.float32)
    lr = hr.reshape(20, 3, 16, 3).mean(axis=(1, 3))
    ds = PatchDataset([(hr, lr)], scale=3, patch_size=12, repeat=50, augment=True)
    for i in range(50):
        lp, hp = ds[i]
        assert lp.shape == (1, 4, 4) and hp.shape == (1, 12, 12)
        assert torch.allclose(hp[0].reshape(4, 3, 4, 3).mean(dim=(1, 3)), lp[0], atol=1e-6)
    flips = {tuple(ds[i][0][0, 0, :2].tolist()) for i in range(50)}
    assert len(flips) > 10


def test_patch_offsets_never_use_the_last_position():
    hr = np.arange(12 * 12, dtype=np.float32).reshape(12, 12)
    lr = hr[::2, ::2].copy()
    ds = PatchDataset([(hr, lr)], scale=2, patch_size=8, repeat=400, augment=False)
    tops = {int(ds[i][0][0, 0, 0]) for i in range(400)}
    # LR 6x6, patch 4: offsets 0 and 1 are drawn, 2 (= h - p) never
    assert tops == {int(lr[y, x]) for y in (0, 1) for x in (0, 1)}


def test_paired_patches_from_folder_without_lr(tmp_path):
    r = Replica(tmp_path / "imgs")
    r.image("a.png", rng_image(20, 22, seed=1))
    r.image("b.jpg", rng_image(24, 20, seed=2))
    ds = PairedPatches(tmp_path / "imgs", scale=2, patch_size=8, repeat=3)
    assert len(ds) == 6 and ds[5][1].shape == (1, 8, 8)
    with pytest.raises(DataError, match="smaller than the LR patch"):
        PairedPatches(tmp_path / "imgs", scale=2, patch_size=40)
    with pytest.raises(ValueError, match="multiple"):
        PairedPatches(tmp_path / "imgs", scale=3, patch_size=8)
    with pytest.raises(DataError, match="not found"):
        PairedPatches(tmp_path / "nope", scale=2, patch_size=8)
