"""Random erasing (Zhong et al. and RRID's variant) and the train/test pipelines (spec §2.9)."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

import torch
from PIL import Image

__all__ = ["IMAGENET_MEAN", "IMAGENET_STD", "RandomColorPatch", "RandomErasing", "build_test_transform",
           "build_train_transform"]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class RandomErasing:
    """Random Erasing (Zhong et al., AAAI 2020) on a ``(C, H, W)`` tensor.

    With probability ``p``, up to ``attempts`` draws of area ``a ~ U(area) * H * W`` and aspect
    ``r ~ U(min_aspect, 1 / min_aspect)``; ``h = round(sqrt(a r))``, ``w = round(sqrt(a / r))``;
    the first box with ``h < H`` and ``w < W`` gets a uniform top-left corner and is filled with
    ``value`` per channel (ISGAN applies this to the normalised tensor with value 0).
    Uses Python's ``random`` module (seeded by :func:`cvcore.seed.seed_everything`).
    """

    def __init__(self, p: float = 0.5, area: tuple[float, float] = (0.02, 0.4), min_aspect: float = 0.3,
                 value: Sequence[float] = (0.0, 0.0, 0.0), attempts: int = 100) -> None:
        self.p, self.area, self.min_aspect, self.value, self.attempts = p, area, min_aspect, tuple(value), attempts
        self.last_box: tuple[int, int, int, int] | None = None  # (top, left, h, w) of the last erase

    def __call__(self, img: torch.Tensor) -> torch.Tensor:
        self.last_box = None
        if random.uniform(0, 1) >= self.p:
            return img
        c, hh, ww = img.shape
        for _ in range(self.attempts):
            a = random.uniform(*self.area) * hh * ww
            r = random.uniform(self.min_aspect, 1.0 / self.min_aspect)
            h, w = int(round(math.sqrt(a * r))), int(round(math.sqrt(a / r)))
            if h < hh and w < ww:
                y, x = random.randint(0, hh - h), random.randint(0, ww - w)
                img = img.clone()
                for ch in range(c):
                    img[ch, y:y + h, x:x + w] = self.value[ch % len(self.value)]
                self.last_box = (y, x, h, w)
                return img
        return img


class RandomColorPatch:
    """RRID's ``RandomSizedEarser`` on a PIL image: a uniformly random RGB rectangle.

    Draw ``u ~ U(-1, 1)``; erase iff ``u <= p_keep`` (erase rate 0.75 by default). Area
    ``U(area) * H * W``, aspect ``U(min_aspect, 1 / min_aspect)``, float sizes
    ``h = sqrt(a r)``, ``w = sqrt(a / r)`` (pasted as ``int``); the top-left ``(x, y)`` is drawn
    uniformly with ``x, y > 0`` and the box inside the image (redrawn until it fits).
    ``official_offset=True`` reproduces the official paste quirk: the patch lands with its
    top-left corner at ``(w, h)`` instead of ``(x, y)``.
    """

    def __init__(self, p_keep: float = 0.5, area: tuple[float, float] = (0.02, 0.2), min_aspect: float = 0.3,
                 official_offset: bool = False, max_tries: int = 1000) -> None:
        self.p_keep, self.area, self.min_aspect = p_keep, area, min_aspect
        self.official_offset, self.max_tries = official_offset, max_tries
        self.last_box: tuple[int, int, int, int] | None = None  # (left, top, w, h) of the last paste

    def __call__(self, img: Image.Image) -> Image.Image:
        self.last_box = None
        if random.uniform(-1.0, 1.0) > self.p_keep:
            return img
        ww, hh = img.size
        for _ in range(self.max_tries):
            a = random.uniform(*self.area) * hh * ww
            r = random.uniform(self.min_aspect, 1.0 / self.min_aspect)
            h, w = math.sqrt(a * r), math.sqrt(a / r)
            if w >= ww - 1 or h >= hh - 1:
                continue
            x, y = random.uniform(0, ww - w), random.uniform(0, hh - h)
            if int(x) > 0 and int(y) > 0:
                break
        else:
            return img
        pw, ph = max(1, int(w)), max(1, int(h))
        color = (random.randint(0, 255), random.randint(0, 255), random.randint(0, 255))
        left, top = (pw, ph) if self.official_offset else (int(x), int(y))
        out = img.convert("RGB").copy()
        out.paste(Image.new("RGB", (pw, ph), color), (left, top))
        self.last_box = (left, top, pw, ph)
        return out


_INTERP = {"bilinear": Image.BILINEAR, "bicubic": Image.BICUBIC, "nearest": Image.NEAREST}


def _resize(height: int, width: int, interpolation: str):  # noqa: ANN202
    from torchvision import transforms as T

    modes = {"bilinear": T.InterpolationMode.BILINEAR, "bicubic": T.InterpolationMode.BICUBIC,
             "nearest": T.InterpolationMode.NEAREST}
    if interpolation not in modes:
        raise ValueError(f"interpolation must be one of {sorted(modes)}, got {interpolation!r}")
    return T.Resize((height, width), interpolation=modes[interpolation])


def build_train_transform(height: int, width: int, flip: bool = True, erasing: str | None = None,
                          interpolation: str = "bilinear", official_offset: bool = False):  # noqa: ANN201
    """Resize → [RRID colour patch] → [flip 0.5] → tensor → ImageNet normalisation → [Zhong erasing].

    ``erasing``: None, ``"zhong"`` (:class:`RandomErasing` on the normalised tensor, value 0, ISGAN)
    or ``"rrid"`` (:class:`RandomColorPatch` on the resized PIL image). Bilinear resize is RRID's,
    bicubic ISGAN's.
    """
    from torchvision import transforms as T

    if erasing not in (None, "none", "zhong", "rrid"):
        raise ValueError(f"erasing must be None, 'zhong' or 'rrid', got {erasing!r}")
    ops = [_resize(height, width, interpolation)]
    if erasing == "rrid":
        ops.append(RandomColorPatch(official_offset=official_offset))
    if flip:
        ops.append(T.RandomHorizontalFlip(0.5))
    ops += [T.ToTensor(), T.Normalize(IMAGENET_MEAN, IMAGENET_STD)]
    if erasing == "zhong":
        ops.append(RandomErasing())
    return T.Compose(ops)


def build_test_transform(height: int, width: int, interpolation: str = "bilinear"):  # noqa: ANN201
    """Resize → tensor → ImageNet normalisation."""
    from torchvision import transforms as T

    return T.Compose([_resize(height, width, interpolation), T.ToTensor(), T.Normalize(IMAGENET_MEAN, IMAGENET_STD)])
