"""Training augmentation and normalisation (spec §3.16, §3.17).

Train: horizontal flip (p = 0.5) → random rescale so the short side is ``randint(lo, hi)``
(PIL bilinear for the image, nearest for the label) → pad right/bottom to the crop size with 0
(image) / 255 (label) → random ``crop x crop`` window → ``/255``, ImageNet mean/std.
Eval: normalisation only, full resolution.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

__all__ = ["IMAGENET_MEAN", "IMAGENET_STD", "EvalTransform", "TrainTransform", "denormalize", "normalize"]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
IGNORE_INDEX = 255


def normalize(image_u8: np.ndarray) -> torch.Tensor:
    """``(H, W, 3)`` uint8 → ``(3, H, W)`` float32, ``(x/255 - mean) / std``."""
    t = torch.from_numpy(np.ascontiguousarray(image_u8)).permute(2, 0, 1).float().div_(255.0)
    mean = torch.tensor(IMAGENET_MEAN).view(3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(3, 1, 1)
    return (t - mean) / std


def denormalize(x: torch.Tensor) -> np.ndarray:
    """Inverse of :func:`normalize` for one ``(3, H, W)`` tensor → ``(H, W, 3)`` uint8."""
    mean = torch.tensor(IMAGENET_MEAN).view(3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(3, 1, 1)
    return (((x.detach().cpu() * std + mean).clamp(0, 1) * 255).round().byte().permute(1, 2, 0).numpy())


@dataclass
class EvalTransform:
    """Normalise only (no resizing): ``(image u8 (H,W,3), label u8/int (H,W))`` → tensors."""

    def __call__(self, image: np.ndarray, label: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        return normalize(image), torch.from_numpy(np.asarray(label, dtype=np.int64))


@dataclass
class TrainTransform:
    """The official training augmentation. ``scale=(0.5, 1.5)`` for VOC, ``(0.5, 2.0)`` for Context."""

    crop: int = 312
    scale: tuple[float, float] = (0.5, 1.5)
    flip: bool = True
    base_size: int = 0  # short side drawn from [scale[0] base, scale[1] base]; 0 = crop

    def __call__(self, image: np.ndarray, label: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        img = Image.fromarray(np.asarray(image, dtype=np.uint8))
        lab = Image.fromarray(np.asarray(label, dtype=np.uint8))
        if self.flip and random.random() < 0.5:
            img = img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
            lab = lab.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        w, h = img.size
        base = self.base_size or self.crop
        short = random.randint(int(self.scale[0] * base), int(self.scale[1] * base))
        if h > w:
            ow, oh = short, int(1.0 * h * short / w)
        else:
            oh, ow = short, int(1.0 * w * short / h)
        img = img.resize((ow, oh), Image.BILINEAR)
        lab = lab.resize((ow, oh), Image.NEAREST)
        a = np.asarray(img)
        b = np.asarray(lab)
        ph, pw = max(self.crop - oh, 0), max(self.crop - ow, 0)
        if ph or pw:
            a = np.pad(a, ((0, ph), (0, pw), (0, 0)), constant_values=0)
            b = np.pad(b, ((0, ph), (0, pw)), constant_values=IGNORE_INDEX)
        H, W = b.shape
        y = random.randint(0, H - self.crop)
        x = random.randint(0, W - self.crop)
        a = a[y:y + self.crop, x:x + self.crop]
        b = b[y:y + self.crop, x:x + self.crop]
        return normalize(a), torch.from_numpy(b.astype(np.int64))
