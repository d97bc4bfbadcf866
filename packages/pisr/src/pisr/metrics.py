"""The PISR evaluation protocol (E8, E9) on top of :mod:`cvcore.metrics`: Y, quantise, crop ``s``.

Order of operations follows the official code: quantise the SR output to 1/255 steps, crop
``c`` pixels on every side (``c = s`` on benchmarks, ``s + 6`` for DIV2K validation), compare
with the (non-integer) HR Y. BasicSR's order (crop, then RGB->Y in float64 without rounding)
differs by <= 0.01 dB.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from cvcore.metrics import psnr as _psnr
from cvcore.metrics import ssim as _ssim

__all__ = ["evaluate", "psnr_y", "quantize", "ssim_y"]


def quantize(x: Any, rgb_range: float = 1.0) -> Any:
    """``round(clamp(255 x / rgb_range, 0, 255)) * rgb_range / 255`` (E8); tensor or array."""
    if isinstance(x, torch.Tensor):
        return (x * (255.0 / rgb_range)).clamp(0, 255).round() / (255.0 / rgb_range)
    return np.round(np.clip(np.asarray(x, np.float64) * (255.0 / rgb_range), 0, 255)) / (255.0 / rgb_range)


def _plane(x: Any) -> np.ndarray:
    a = x.detach().cpu().double().numpy() if isinstance(x, torch.Tensor) else np.asarray(x, np.float64)
    a = np.squeeze(a)
    if a.ndim != 2:
        raise ValueError(f"expected a single Y plane ((H, W), (1, H, W) or (1, 1, H, W)), got shape {np.shape(x)}")
    return a


def _prep(sr: Any, hr: Any, scale: int, crop: int | None, quantize_sr: bool, rgb_range: float):
    a, b = _plane(sr), _plane(hr)
    if a.shape != b.shape:
        raise ValueError(f"sr {a.shape} and hr {b.shape} differ in shape")
    c = scale if crop is None else crop
    if min(a.shape) < 2 * c + 1:
        raise ValueError(f"image {a.shape} is too small for a border crop of {c}")
    if quantize_sr:
        a = quantize(a, rgb_range)
    return a, b, c


def psnr_y(sr: Any, hr: Any, scale: int, *, rgb_range: float = 1.0, quantize_sr: bool = True,
           crop: int | None = None) -> float:
    """(E8) PSNR in dB of one Y image; ``inf`` when identical.

    Args:
        sr, hr: Y planes in ``[0, rgb_range]`` (``(H, W)``, ``(1, H, W)`` or ``(1, 1, H, W)``).
        scale: ``s``; the border crop is ``s`` unless ``crop`` is given (``s + 6`` for DIV2K val).
        quantize_sr: round ``sr`` to 1/255 steps first (official evaluation).
    """
    a, b, c = _prep(sr, hr, scale, crop, quantize_sr, rgb_range)
    return _psnr(a, b, crop_border=c, y_channel=False, data_range=rgb_range)


def ssim_y(sr: Any, hr: Any, scale: int, *, rgb_range: float = 1.0, quantize_sr: bool = True,
           crop: int | None = None) -> float:
    """(E9) SSIM of one Y image: 11x11 Gaussian window, sigma 1.5, valid region, C1 = (0.01 L)^2, C2 = (0.03 L)^2."""
    a, b, c = _prep(sr, hr, scale, crop, quantize_sr, rgb_range)
    return _ssim(a, b, crop_border=c, y_channel=False, data_range=rgb_range)


@torch.no_grad()
def evaluate(model: torch.nn.Module | None, datasets: Mapping[str, Any], scale: int, *, crop: int | None = None,
             device: torch.device | str = "cpu", with_ssim: bool = True, tile: int | None = None) -> dict[str, dict[str, Any]]:
    """Mean Y-PSNR/SSIM per data set (items ``(lr, hr, name)``, whole images, batch 1).

    ``model=None`` scores bicubic (E10) upsampling of the LR Y plane instead.

    Returns:
        ``{set: {"psnr": mean dB, "ssim": mean, "n": count, "per_image": {name: psnr}}}``.
    """
    from pisr.data.imresize import imresize
    from pisr.inference import super_resolve_y

    out: dict[str, dict[str, Any]] = {}
    for set_name, ds in datasets.items():
        psnrs, ssims, per = [], [], {}
        for i in range(len(ds)):
            lr, hr, name = ds[i]
            if model is None:
                sr = imresize(lr[0].double().numpy(), float(scale))
            else:
                sr = super_resolve_y(model, lr[0], tile=tile, device=device)
            p = psnr_y(sr, hr, scale, crop=crop)
            psnrs.append(p)
            per[str(name)] = p
            if with_ssim:
                ssims.append(ssim_y(sr, hr, scale, crop=crop))
        out[set_name] = {"psnr": float(np.mean(psnrs)) if psnrs else float("nan"),
                         "ssim": float(np.mean(ssims)) if ssims else float("nan"),
                         "n": len(psnrs), "per_image": per}
    return out
