"""A synthetic box-annotated segmentation set (spec §11) and its VOC-style folder layout.

Textured two-tone backgrounds; objects of distinct colour, texture and shape per class
(1: red striped disk, 2: blue dotted square, 3: green triangle, 4+: further colours);
ground-truth masks exact, boxes = tight boxes of the masks (VOC 1-based inclusive convention).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["SyntheticBoxDataset", "SyntheticSample", "write_voc_layout"]

_COLOURS = [(200, 40, 40), (40, 60, 200), (40, 170, 60), (200, 170, 30), (160, 40, 170)]


@dataclass
class SyntheticSample:
    image: np.ndarray  # (H, W, 3) uint8
    mask: np.ndarray  # (H, W) uint8 class ids
    boxes: np.ndarray  # (K, 5) float32 [x1, y1, x2, y2, cls], VOC convention (x2 = last column + 1)


def _shape_mask(kind: int, h: int, w: int, cy: float, cx: float, r: float) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    if kind % 3 == 0:  # disk
        return (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
    if kind % 3 == 1:  # square
        return (np.abs(yy - cy) <= r * 0.85) & (np.abs(xx - cx) <= r * 0.85)
    # triangle (apex up)
    top, bot = cy - r, cy + r
    half = (yy - top) / (2 * r) * r
    return (yy >= top) & (yy <= bot) & (np.abs(xx - cx) <= half)


class SyntheticBoxDataset:
    """``n`` deterministic samples of ``size`` with 1-3 objects each.

    Args:
        n: number of images.
        size: ``(H, W)``.
        num_classes: object classes (ids 1..num_classes).
        seed: everything is a function of ``(seed, index)``.
        box_margin: pixels added on each side of the tight box (loose boxes).
    """

    def __init__(self, n: int, size: tuple[int, int] = (128, 128), num_classes: int = 3, seed: int = 0,
                 box_margin: int = 0) -> None:
        if num_classes < 1 or num_classes > len(_COLOURS):
            raise ValueError(f"num_classes must be in 1..{len(_COLOURS)}, got {num_classes}")
        self.n, self.size, self.num_classes, self.seed, self.box_margin = n, tuple(size), num_classes, seed, box_margin

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> SyntheticSample:
        if not 0 <= i < self.n:
            raise IndexError(i)
        rng = np.random.default_rng([self.seed, i])
        h, w = self.size
        yy, xx = np.mgrid[0:h, 0:w]
        base = rng.integers(90, 170, 3)
        other = np.clip(base + rng.integers(-40, 40, 3), 0, 255)
        fx, fy, ph = rng.uniform(0.02, 0.08), rng.uniform(0.02, 0.08), rng.uniform(0, 6.3)
        wave = 0.5 + 0.5 * np.sin(fx * xx + fy * yy * 1.3 + ph)
        img = base[None, None] * wave[..., None] + other[None, None] * (1 - wave[..., None])
        img = img + rng.normal(0, 8, (h, w, 3))
        mask = np.zeros((h, w), np.uint8)
        boxes = []
        for _ in range(int(rng.integers(1, 4))):
            c = int(rng.integers(1, self.num_classes + 1))
            r = rng.uniform(0.12, 0.25) * min(h, w)
            cy, cx = rng.uniform(r, h - r), rng.uniform(r, w - r)
            m = _shape_mask(c - 1, h, w, cy, cx, r) & (mask == 0)
            if m.sum() < 20:
                continue
            col = np.array(_COLOURS[c - 1], dtype=np.float64)
            tex = 1.0 + 0.25 * np.sign(np.sin((xx + yy * (c - 1)) * 0.6 * c))
            obj = col[None, None] * tex[..., None] + rng.normal(0, 8, (h, w, 3))
            img[m] = obj[m]
            mask[m] = c
            ys, xs = np.nonzero(m)
            mg = self.box_margin
            boxes.append([max(xs.min() - mg, 0), max(ys.min() - mg, 0), min(xs.max() + 1 + mg, w),
                          min(ys.max() + 1 + mg, h), c])
        if not boxes:  # guarantee one object
            return self.__getitem__((i + 1) % self.n) if self.n > 1 else SyntheticSample(
                np.clip(img, 0, 255).astype(np.uint8), mask, np.zeros((0, 5), np.float32))
        return SyntheticSample(np.clip(img, 0, 255).astype(np.uint8), mask, np.asarray(boxes, np.float32))


def write_voc_layout(root: str | os.PathLike[str], dataset: SyntheticBoxDataset, splits: dict[str, range] | None = None,
                     jpeg: bool = False) -> Path:
    """Write ``JPEGImages``, ``Annotations``, ``SegmentationClassAug`` (palette PNG), ``BgMaskfromBoxes``
    and ``ImageSets/Segmentation/<split>.txt`` for the dataset (ids ``synth_00000`` …).

    With ``jpeg=False`` images are written losslessly as ``JPEGImages/<id>.png`` (the loaders accept
    ``.jpg`` and ``.png``); ``jpeg=True`` writes real JPEGs as VOC does.
    """
    from bap.data.bg_mask import boxes_to_bg_mask
    from bap.data.voc_xml import write_voc_xml
    from cvcore.data.replica import Replica
    from cvcore.viz import voc_palette

    r = Replica(root)
    splits = splits or {"train_aug": range(len(dataset))}
    for name, idx in splits.items():
        ids = []
        for i in idx:
            s = dataset[i]
            sid = f"synth_{i:05d}"
            ids.append(sid)
            h, w = s.mask.shape
            r.image(f"JPEGImages/{sid}.jpg" if jpeg else f"JPEGImages/{sid}.png", s.image)
            write_voc_xml(r.path(f"Annotations/{sid}.xml"), f"{sid}.jpg", w, h, s.boxes)
            r.png_indexed(f"SegmentationClassAug/{sid}.png", s.mask, palette=voc_palette())
            r.image(f"BgMaskfromBoxes/{sid}.png", boxes_to_bg_mask(s.boxes, h, w))
        r.lines(f"ImageSets/Segmentation/{name}.txt", ids)
    return r.root
