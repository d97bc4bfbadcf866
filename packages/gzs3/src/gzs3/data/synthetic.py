"""Synthetic zero-shot scenes (spec §11): class appearance is a smooth function of a small class
embedding, so an unseen class (a new combination of seen attributes) is predictable from its
embedding alone.

Classes: 0 background (grey noise) and six objects = {red, green, blue} x {solid, striped}.
Class vector (8-d): colour one-hot (3), texture one-hot (solid, striped) (2), background flag
(1), two fixed noise dimensions; max-norm scaled (E1). Pixel colour of an object of class c is
``rgb = 0.15 + 0.7 * s_c[:3]`` modulated by ``s_c[3] + s_c[4] * stripe(x)``: linear in s_c.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from gzs3.data.transforms import EvalTransform

__all__ = ["SYNTHETIC_CLASSES", "SYNTHETIC_UNSEEN", "SyntheticZeroShot", "synthetic_class_table"]

SYNTHETIC_CLASSES: tuple[str, ...] = (
    "background", "red solid", "green solid", "blue solid", "red striped", "green striped", "blue striped",
)
#: default unseen pair: each of their attributes also occurs in a seen class
SYNTHETIC_UNSEEN: tuple[int, ...] = (2, 6)
STRIPE_PERIOD = 6  # pixels
IGNORE_INDEX = 255


def synthetic_class_table(noise: float = 0.1, seed: int = 0) -> torch.Tensor:
    """The ``(7, 8)`` float32 class table (max-norm scaled)."""
    t = np.zeros((7, 8))
    t[0, 5] = 1.0
    for c in range(1, 7):
        t[c, (c - 1) % 3] = 1.0
        t[c, 3 + (c - 1) // 3] = 1.0
    t[:, 6:] = np.random.default_rng(seed).normal(scale=noise, size=(7, 2))
    t /= np.linalg.norm(t, axis=1).max()
    return torch.from_numpy(t).float()


class SyntheticZeroShot(torch.utils.data.Dataset):
    """``n`` seeded scenes of ``size x size`` with 1-3 disks/squares of the given object classes.

    Args:
        n: number of images.
        size: side length in pixels (64-96 in tests).
        classes: object class ids to draw from (e.g. only seen ones for training); default all.
        seed: base seed (image i uses ``seed * 100003 + i``).
        ignore_band: width of a 255 band drawn around half of the objects (0 = none).
        transform: as for the real loaders (default: normalisation only).

    Items: ``(image (3, size, size) float32 normalised, label (size, size) long)``.
    """

    num_classes = 7

    def __init__(self, n: int, size: int = 96, classes: Sequence[int] | None = None, seed: int = 0,
                 ignore_band: int = 2, transform=None) -> None:  # type: ignore[no-untyped-def]
        self.n, self.size, self.seed, self.ignore_band = n, size, seed, ignore_band
        self.classes = list(classes) if classes is not None else list(range(1, 7))
        if not self.classes or any(not 1 <= c <= 6 for c in self.classes):
            raise ValueError(f"object classes must be in 1..6, got {self.classes}")
        self.table = synthetic_class_table()
        self.transform = transform

    def __len__(self) -> int:
        return self.n

    def sample(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """The raw scene: ``(image (H, W, 3) uint8, label (H, W) uint8)``."""
        if not 0 <= i < self.n:
            raise IndexError(i)
        rng = np.random.default_rng(self.seed * 100003 + i)
        s = self.size
        yy, xx = np.mgrid[0:s, 0:s]
        img = 0.45 + 0.08 * rng.standard_normal((s, s, 1)).repeat(3, 2)
        lab = np.zeros((s, s), np.uint8)
        tab = self.table.numpy().astype(np.float64)
        stripe = 0.5 + 0.5 * np.sign(np.sin(2 * np.pi * (xx + yy) / STRIPE_PERIOD))
        for _ in range(int(rng.integers(1, 4))):
            c = int(rng.choice(self.classes))
            r = rng.uniform(0.12, 0.25) * s
            cy, cx = rng.uniform(r, s - r, size=2)
            if rng.random() < 0.5:
                dist = np.hypot(yy - cy, xx - cx)
            else:
                dist = np.maximum(np.abs(yy - cy), np.abs(xx - cx))
            inside = dist <= r
            v = tab[c] / tab[c, :5].max()  # undo the global scale for appearance
            rgb = 0.15 + 0.7 * v[:3]
            mod = v[3] + v[4] * stripe
            img[inside] = (rgb[None, :] * mod[inside][:, None]) + 0.03 * rng.standard_normal((int(inside.sum()), 3))
            lab[inside] = c
            if self.ignore_band and rng.random() < 0.5:
                band = (dist > r) & (dist <= r + self.ignore_band) & (lab == 0)
                lab[band] = IGNORE_INDEX
        return (np.clip(img, 0, 1) * 255).round().astype(np.uint8), lab

    def image_u8(self, i: int) -> np.ndarray:
        return self.sample(i)[0]

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        img, lab = self.sample(i)
        return (self.transform or EvalTransform())(img, lab)
