"""PSNR and SSIM on the Y channel with border crop, as super-resolution papers report them.

Images are ``(H, W)`` gray or ``(H, W, 3)`` RGB arrays with values in ``[0, data_range]``
(``data_range=255`` by default). :func:`to_image` turns a ``(3, H, W)`` / ``(1, 3, H, W)`` tensor
in ``[0, 1]`` into that form.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.ndimage import gaussian_filter

from cvcore.metrics._arrays import as_numpy

__all__ = ["psnr", "rgb_to_y", "ssim", "to_image"]

# MATLAB rgb2ycbcr (ITU-R BT.601, studio swing) for inputs in [0, 255].
_Y_COEFFS = np.array([65.481, 128.553, 24.966]) / 255.0
_Y_OFFSET = 16.0


def to_image(t: Any, *, scale: float = 255.0) -> np.ndarray:
    """``(C, H, W)`` or ``(1, C, H, W)`` tensor in [0, 1] -> ``(H, W[, C])`` float64 in [0, scale]."""
    a = as_numpy(t, np.float64)
    if a.ndim == 4 and a.shape[0] == 1:
        a = a[0]
    if a.ndim != 3 or a.shape[0] not in (1, 3):
        raise ValueError(f"expected a (C, H, W) tensor with C in (1, 3), got shape {a.shape}")
    a = np.transpose(a, (1, 2, 0)) * scale
    return a[..., 0] if a.shape[2] == 1 else a


def rgb_to_y(img: Any, *, data_range: float = 255.0) -> np.ndarray:
    """Y of MATLAB's ``rgb2ycbcr`` as float (not rounded), in ``[16, 235] * data_range / 255``.

    Args:
        img: ``(H, W, 3)`` RGB in ``[0, data_range]``.
    """
    a = as_numpy(img, np.float64)
    if a.ndim != 3 or a.shape[2] != 3:
        raise ValueError(f"rgb_to_y expects (H, W, 3), got shape {a.shape}")
    a = a * (255.0 / data_range)
    y = a @ _Y_COEFFS + _Y_OFFSET
    return y * (data_range / 255.0)


def _prepare(img1: Any, img2: Any, crop_border: int, y_channel: bool, data_range: float) -> tuple[np.ndarray, np.ndarray]:
    a = as_numpy(img1, np.float64)
    b = as_numpy(img2, np.float64)
    if a.shape != b.shape:
        raise ValueError(f"images differ in shape: {a.shape} vs {b.shape}")
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (1, 3)):
        raise ValueError(f"expected (H, W) or (H, W, C) with C in (1, 3), got {a.shape}")
    if a.ndim == 3 and a.shape[2] == 1:
        a, b = a[..., 0], b[..., 0]
    if y_channel and a.ndim == 3:
        a, b = rgb_to_y(a, data_range=data_range), rgb_to_y(b, data_range=data_range)
    if crop_border < 0:
        raise ValueError(f"crop_border must be >= 0, got {crop_border}")
    if crop_border:
        if 2 * crop_border >= min(a.shape[:2]):
            raise ValueError(f"crop_border {crop_border} leaves nothing of a {a.shape[:2]} image")
        a = a[crop_border:-crop_border, crop_border:-crop_border]
        b = b[crop_border:-crop_border, crop_border:-crop_border]
    return a, b


def psnr(img1: Any, img2: Any, *, crop_border: int = 0, y_channel: bool = True, data_range: float = 255.0) -> float:
    """Peak signal-to-noise ratio in dB; ``inf`` for identical images.

    RGB images are compared on Y (:func:`rgb_to_y`) when ``y_channel``, else on all channels.
    """
    a, b = _prepare(img1, img2, crop_border, y_channel, data_range)
    mse = float(np.mean((a - b) ** 2))
    if mse == 0:
        return float("inf")
    return float(10.0 * np.log10(data_range**2 / mse))


def _ssim_2d(a: np.ndarray, b: np.ndarray, data_range: float, sigma: float) -> float:
    # Gaussian-weighted statistics, population covariance, reflect padding, then the
    # (win_size - 1) / 2 border dropped: the definition of scikit-image's structural_similarity.
    truncate = 3.5
    win = 2 * int(truncate * sigma + 0.5) + 1
    if min(a.shape) < win:
        raise ValueError(f"SSIM needs images of at least {win}x{win} pixels, got {a.shape}")
    filt = lambda x: gaussian_filter(x, sigma=sigma, truncate=truncate, mode="reflect")  # noqa: E731
    mu1, mu2 = filt(a), filt(b)
    s11 = filt(a * a) - mu1 * mu1
    s22 = filt(b * b) - mu2 * mu2
    s12 = filt(a * b) - mu1 * mu2
    c1 = (0.01 * data_range) ** 2
    c2 = (0.03 * data_range) ** 2
    num = (2 * mu1 * mu2 + c1) * (2 * s12 + c2)
    den = (mu1**2 + mu2**2 + c1) * (s11 + s22 + c2)
    pad = (win - 1) // 2
    return float((num / den)[pad:-pad, pad:-pad].mean())


def ssim(
    img1: Any, img2: Any, *, crop_border: int = 0, y_channel: bool = True, data_range: float = 255.0, sigma: float = 1.5
) -> float:
    """Structural similarity with an 11x11 Gaussian window (sigma 1.5).

    Equals ``skimage.metrics.structural_similarity(a, b, gaussian_weights=True, sigma=1.5,
    use_sample_covariance=False, data_range=255)`` on the (cropped, Y) images; RGB images with
    ``y_channel=False`` are averaged over channels.
    """
    a, b = _prepare(img1, img2, crop_border, y_channel, data_range)
    if a.ndim == 2:
        return _ssim_2d(a, b, data_range, sigma)
    return float(np.mean([_ssim_2d(a[..., c], b[..., c], data_range, sigma) for c in range(a.shape[2])]))
