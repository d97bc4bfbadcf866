import numpy as np
import pytest
from skimage import data as skdata
from skimage.color import rgb2ycbcr
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from cvcore.metrics import psnr, rgb_to_y, ssim, to_image


def _pair(seed=0):
    img = skdata.astronaut()[100:260, 120:300].astype(np.float64)
    rng = np.random.default_rng(seed)
    noisy = np.clip(img + rng.normal(0, 12, img.shape), 0, 255)
    return img, noisy


def test_rgb_to_y_matches_matlab_formula_and_skimage():
    ramp = np.linspace(0, 255, 48).reshape(4, 4, 3)
    expected = 16 + (65.481 * ramp[..., 0] + 128.553 * ramp[..., 1] + 24.966 * ramp[..., 2]) / 255
    np.testing.assert_allclose(rgb_to_y(ramp), expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(rgb_to_y(ramp / 255.0, data_range=1.0), rgb2ycbcr(ramp / 255.0)[..., 0] / 255,
                               atol=1e-12)
    assert rgb_to_y(np.zeros((1, 1, 3)))[0, 0] == pytest.approx(16.0)
    assert rgb_to_y(np.full((1, 1, 3), 255.0))[0, 0] == pytest.approx(235.0)


def test_psnr_closed_form_and_skimage():
    a = np.zeros((8, 8))
    b = np.full((8, 8), 5.0)
    assert psnr(a, b) == pytest.approx(10 * np.log10(255**2 / 25))
    assert psnr(a, a) == float("inf")
    img, noisy = _pair()
    y1, y2 = rgb_to_y(img)[4:-4, 4:-4], rgb_to_y(noisy)[4:-4, 4:-4]
    assert psnr(img, noisy, crop_border=4) == pytest.approx(peak_signal_noise_ratio(y1, y2, data_range=255), abs=1e-10)
    assert psnr(img, noisy, y_channel=False) == pytest.approx(peak_signal_noise_ratio(img, noisy, data_range=255))


@pytest.mark.parametrize("crop", [0, 3])
def test_ssim_matches_skimage_to_1e6(crop):
    img, noisy = _pair()
    ours = ssim(img, noisy, crop_border=crop)
    y1, y2 = rgb_to_y(img), rgb_to_y(noisy)
    if crop:
        y1, y2 = y1[crop:-crop, crop:-crop], y2[crop:-crop, crop:-crop]
    ref = structural_similarity(y1, y2, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255)
    assert abs(ours - ref) < 1e-6
    assert ssim(img, img) == pytest.approx(1.0)


def test_ssim_rgb_channels_and_gray():
    img, noisy = _pair(1)
    ref = structural_similarity(img, noisy, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                data_range=255, channel_axis=2)
    assert ssim(img, noisy, y_channel=False) == pytest.approx(ref, abs=1e-6)
    g1, g2 = img[..., 0], noisy[..., 0]
    ref_gray = structural_similarity(g1, g2, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                     data_range=255)
    assert ssim(g1, g2) == pytest.approx(ref_gray, abs=1e-6)


def test_errors_and_tensor_conversion():
    torch = pytest.importorskip("torch")
    with pytest.raises(ValueError, match="differ in shape"):
        psnr(np.zeros((4, 4)), np.zeros((4, 5)))
    with pytest.raises(ValueError, match="leaves nothing"):
        psnr(np.zeros((4, 4)), np.zeros((4, 4)), crop_border=2)
    with pytest.raises(ValueError, match="at least"):
        ssim(np.zeros((8, 8)), np.zeros((8, 8)))
    t = torch.rand(1, 3, 5, 6)
    np.testing.assert_allclose(to_image(t), t[0].permute(1, 2, 0).numpy() * 255, rtol=1e-6)
