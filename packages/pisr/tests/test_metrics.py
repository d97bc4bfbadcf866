import math

import numpy as np
import pytest
import torch

from pisr.data import rgb_to_y
from pisr.metrics import evaluate, psnr_y, quantize, ssim_y


def test_identical_is_inf_and_offset_of_one_level_is_48_13():
    hr = np.random.default_rng(0).integers(0, 256, (20, 20)) / 255.0
    assert psnr_y(hr, hr, 2) == math.inf
    hr2 = np.full((20, 20), 100 / 255)
    assert psnr_y(hr2 + 1 / 255, hr2, 2) == pytest.approx(20 * math.log10(255), abs=1e-9)  # 48.1308 dB


def test_crop_removes_exactly_s_pixels():
    hr = np.full((20, 20), 100 / 255)
    sr = hr.copy()
    sr[:3, :] = 0
    sr[:, -3:] = 1
    assert psnr_y(sr, hr, 3) == math.inf
    assert psnr_y(sr, hr, 2) < 40
    sr2 = hr.copy()
    sr2[3, 10] = 0.0
    assert psnr_y(sr2, hr, 3) < math.inf
    assert psnr_y(sr2, hr, 3, crop=4) == math.inf


def test_quantisation_is_on_by_default():
    hr = np.full((12, 12), 100 / 255)
    sr = hr + 0.4 / 255  # rounds back to 100
    assert psnr_y(sr, hr, 2) == math.inf
    assert psnr_y(sr, hr, 2, quantize_sr=False) < math.inf
    assert torch.equal(quantize(torch.tensor([-0.2, 0.50001, 1.3])), torch.tensor([0.0, 128 / 255, 1.0]))


def test_psnr_matches_closed_form_and_tensors():
    rng = np.random.default_rng(1)
    hr = rng.random((16, 18))
    sr = rng.random((16, 18))
    q = np.round(np.clip(sr * 255, 0, 255)) / 255
    mse = np.mean((q[2:-2, 2:-2] - hr[2:-2, 2:-2]) ** 2)
    assert psnr_y(sr, hr, 2) == pytest.approx(-10 * math.log10(mse), abs=1e-9)
    assert psnr_y(torch.from_numpy(sr)[None, None], torch.from_numpy(hr)[None], 2) == pytest.approx(-10 * math.log10(mse), abs=1e-9)


def test_too_small_or_mismatched_raises():
    with pytest.raises(ValueError):
        psnr_y(np.zeros((4, 4)), np.zeros((4, 4)), 2)
    with pytest.raises(ValueError):
        psnr_y(np.zeros((8, 8)), np.zeros((8, 9)), 2)


def test_ssim_matches_scikit_image():
    from skimage.metrics import structural_similarity

    rng = np.random.default_rng(2)
    hr = rng.random((40, 44))
    sr = np.clip(hr + rng.normal(0, 0.05, hr.shape), 0, 1)
    q = np.round(sr * 255) / 255
    ref = structural_similarity(q[3:-3, 3:-3], hr[3:-3, 3:-3], gaussian_weights=True, sigma=1.5,
                                use_sample_covariance=False, data_range=1.0)
    assert ssim_y(sr, hr, 3) == pytest.approx(ref, abs=1e-10)
    hq = np.round(hr * 255) / 255
    assert ssim_y(hq, hq, 3) == pytest.approx(1.0)
    assert ssim_y(hr, hr, 3, quantize_sr=False) == pytest.approx(1.0)


def test_rgb_to_y_formula_and_scikit_image():
    from skimage.color import rgb2ycbcr

    ramp = np.arange(48, dtype=np.uint8).reshape(4, 4, 3) * 5
    r, g, b = (ramp[..., i] / 255.0 for i in range(3))
    expected = (16 + 65.481 * r + 128.553 * g + 24.966 * b) / 255
    assert np.allclose(rgb_to_y(ramp), expected, atol=1e-12)
    assert np.allclose(rgb_to_y(ramp), rgb2ycbcr(ramp)[..., 0] / 255, atol=1e-12)
    t = torch.from_numpy(ramp / 255.0).permute(2, 0, 1)[None]
    assert torch.allclose(rgb_to_y(t)[0, 0], torch.from_numpy(expected), atol=1e-12)
    assert rgb_to_y(np.zeros((2, 2, 3), np.uint8)).min() == pytest.approx(16 / 255)
    assert rgb_to_y(np.full((2, 2, 3), 255, np.uint8)).max() == pytest.approx(235 / 255)


def test_evaluate_bicubic_and_model_rows():
    from pisr.data import ImageFolderPairs, make_pair
    from pisr.models import FSRCNN

    img = np.random.default_rng(3).integers(0, 256, (24, 28, 3), dtype=np.uint8)
    ds = ImageFolderPairs(scale=2, pairs=[("a", *make_pair(img, 2))])
    res = evaluate(None, {"s": ds}, 2)["s"]
    from pisr.data import imresize

    _, hr, lr = ds.items[0]
    assert res["psnr"] == pytest.approx(psnr_y(imresize(lr.astype(np.float64), 2.0), hr, 2), abs=1e-9)
    assert res["n"] == 1 and set(res["per_image"]) == {"a"}
    res_m = evaluate(FSRCNN(2, d=4, s=2, m=1), {"s": ds}, 2)["s"]
    assert math.isfinite(res_m["psnr"]) and res_m["psnr"] < res["psnr"] and res_m["ssim"] < 1
