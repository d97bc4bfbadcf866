"""Image preprocessing shared by training, evaluation and ``sfnet match``."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["EVAL_PAD", "IMAGENET_MEAN", "IMAGENET_STD", "denormalize", "normalize", "prepare_eval_image",
           "resize", "to_float_image", "to_mask"]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
#: zero padding (pixels) around the 288 x 288 test image (official ``PF_Pascal``/``PF_WILLOW``).
EVAL_PAD = 16


def to_float_image(image: Any) -> torch.Tensor:
    """uint8 ``H x W x 3`` array (or float ``3 x H x W`` tensor) -> float32 ``3 x H x W`` in [0, 1]."""
    if isinstance(image, torch.Tensor):
        t = image.float()
        if t.ndim == 3 and t.shape[0] != 3 and t.shape[-1] == 3:
            t = t.permute(2, 0, 1)
        if image.dtype == torch.uint8:
            t = t / 255.0
    else:
        a = np.asarray(image)
        if a.ndim == 2:
            a = np.stack([a] * 3, axis=-1)
        if a.ndim != 3 or a.shape[2] != 3:
            raise ValueError(f"expected an H x W x 3 image, got shape {a.shape}")
        t = torch.from_numpy(np.ascontiguousarray(a)).permute(2, 0, 1).float()
        if a.dtype == np.uint8:
            t = t / 255.0
    if t.ndim != 3 or t.shape[0] != 3:
        raise ValueError(f"expected a 3 x H x W image, got shape {tuple(t.shape)}")
    if not torch.isfinite(t).all():
        raise ValueError("image contains NaN or infinite values")
    return t.contiguous()


def to_mask(mask: Any) -> torch.Tensor:
    """Foreground mask ``H x W`` (0/255 uint8 as in the official arrays, 0/1, or bool) -> float ``1 x H x W`` in [0, 1].

    The official code assumes 0/255 (a 0/1 mask would vanish after ``ToTensor``); both are accepted
    here: a mask whose maximum exceeds 1 is divided by 255.
    """
    m = torch.as_tensor(np.asarray(mask)).float()
    if m.ndim == 3 and m.shape[0] == 1:
        m = m[0]
    if m.ndim != 2:
        raise ValueError(f"expected an H x W mask, got shape {tuple(m.shape)}")
    if m.max() > 1.0:
        m = m / 255.0
    return m.clamp(0, 1).unsqueeze(0)


def resize(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear resize of ``C x H x W`` or ``B x C x H x W`` (anti-aliased when shrinking, like PIL)."""
    batched = x.ndim == 4
    t = x if batched else x.unsqueeze(0)
    if tuple(t.shape[-2:]) != tuple(size):
        t = F.interpolate(t, size=size, mode="bilinear", align_corners=False, antialias=True)
    return t if batched else t[0]


def normalize(x: torch.Tensor) -> torch.Tensor:
    """ImageNet mean/std normalisation of ``(B x) 3 x H x W`` in [0, 1]."""
    mean = torch.tensor(IMAGENET_MEAN, dtype=x.dtype, device=x.device).view(3, 1, 1)
    std = torch.tensor(IMAGENET_STD, dtype=x.dtype, device=x.device).view(3, 1, 1)
    return (x - mean) / std


def denormalize(x: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`normalize`, clamped to [0, 1]."""
    mean = torch.tensor(IMAGENET_MEAN, dtype=x.dtype, device=x.device).view(3, 1, 1)
    std = torch.tensor(IMAGENET_STD, dtype=x.dtype, device=x.device).view(3, 1, 1)
    return (x * std + mean).clamp(0, 1)


def prepare_eval_image(image: Any, feature_size: tuple[int, int] = (20, 20), pad: bool = True) -> torch.Tensor:
    """Official test-time input: resize to ``16(h-2) x 16(w-2)`` (288 x 288), zero-pad 16 px, normalise.

    With ``pad=False`` the image is resized to ``16h x 16w`` instead (no padding).

    Returns:
        float32 ``3 x 16h x 16w`` (320 x 320 by default), ImageNet-normalised; the padding equals
        ``-mean/std``.
    """
    h, w = feature_size
    img = to_float_image(image)
    if pad:
        img = F.pad(resize(img, (16 * (h - 2), 16 * (w - 2))), (EVAL_PAD,) * 4)
    else:
        img = resize(img, (16 * h, 16 * w))
    return normalize(img)
