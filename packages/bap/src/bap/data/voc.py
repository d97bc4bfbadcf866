"""PASCAL VOC 2012 + SBD as the official code reads it (spec §8).

describe_layout::

    <root>/                       (= .../VOCdevkit/VOC2012)
      JPEGImages/<id>.jpg
      Annotations/<id>.xml                 boxes (stages 1-2)
      BgMaskfromBoxes/<id>.png             uint8, 1 outside all boxes (generated if absent)
      SegmentationClassAug/<id>.png        class ids 0..20, 255 void
      ImageSets/Segmentation/{train_aug,val,test}.txt
      Generation/Ycrf/<id>.png, Generation/Yret/<id>.png   (stage-2 outputs, read by stage 3)
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from bap.data.bg_mask import boxes_to_bg_mask
from bap.data.voc_xml import VOC_CLASSES, read_voc_xml
from cvcore.data import read_image
from cvcore.errors import DataError

__all__ = ["VOCBoxes", "VOCPseudoLabels", "VOCSegmentation", "describe_layout", "read_ids", "read_label_png"]


def describe_layout() -> str:
    return __doc__.split("describe_layout::", 1)[1]


def read_ids(root: Path, split: str) -> list[str]:
    f = root / "ImageSets" / "Segmentation" / f"{split}.txt"
    if not root.is_dir():
        raise DataError(f"VOC root not found: {root} (expected VOCdevkit/VOC2012 layout:{describe_layout()})")
    if not f.is_file():
        raise DataError(f"split list not found: {f} (expected ImageSets/Segmentation/{split}.txt)")
    ids = [ln.split()[0] for ln in f.read_text().splitlines() if ln.strip()]
    if not ids:
        raise DataError(f"split list {f} is empty")
    return ids


def read_label_png(path: Path) -> np.ndarray:
    """Class-id PNG (palette or grey) -> ``(H, W)`` uint8 without colour conversion."""
    if not path.is_file():
        raise DataError(f"label file not found: {path}")
    try:
        with Image.open(path) as im:
            return np.array(im, dtype=np.uint8) if im.mode in ("P", "L") else np.array(im.convert("L"), np.uint8)
    except OSError as exc:
        raise DataError(f"cannot read label file {path} ({exc})") from exc


def _image_path(root: Path, sid: str) -> Path:
    for ext in (".jpg", ".png", ".jpeg"):
        p = root / "JPEGImages" / f"{sid}{ext}"
        if p.is_file():
            return p
    raise DataError(f"image not found: {root / 'JPEGImages' / (sid + '.jpg')}")


class _VOCBase:
    def __init__(self, root: str | os.PathLike[str], split: str) -> None:
        self.root = Path(root)
        self.split = split
        self.ids = read_ids(self.root, split)

    def __len__(self) -> int:
        return len(self.ids)

    def image(self, i: int) -> np.ndarray:
        return read_image(_image_path(self.root, self.ids[i]))


class VOCBoxes(_VOCBase):
    """Items ``{"id", "image" (H, W, 3) uint8, "boxes" (K, 5) float32, "bg_mask" (H, W) uint8}``.

    The background mask is read from ``BgMaskfromBoxes`` when present, else computed from the boxes
    with the §3.18 convention (``generate_bg_masks=True``).
    """

    classes = VOC_CLASSES

    def __init__(self, root: str | os.PathLike[str], split: str = "train_aug", generate_bg_masks: bool = True) -> None:
        super().__init__(root, split)
        self.generate_bg_masks = generate_bg_masks

    def boxes(self, i: int) -> np.ndarray:
        return read_voc_xml(self.root / "Annotations" / f"{self.ids[i]}.xml").boxes

    def __getitem__(self, i: int) -> dict[str, Any]:
        img = self.image(i)
        boxes = self.boxes(i)
        mp = self.root / "BgMaskfromBoxes" / f"{self.ids[i]}.png"
        if mp.is_file():
            bg = read_label_png(mp)
        elif self.generate_bg_masks:
            bg = boxes_to_bg_mask(boxes, *img.shape[:2])
        else:
            raise DataError(f"background mask not found: {mp} (run 'bap make-bg-masks')")
        if bg.shape != img.shape[:2]:
            raise DataError(f"background mask {mp} is {bg.shape}, image is {img.shape[:2]}")
        return {"id": self.ids[i], "image": img, "boxes": boxes, "bg_mask": bg}


class VOCSegmentation(_VOCBase):
    """Items ``{"id", "image", "mask" (H, W) uint8}`` from ``SegmentationClassAug``."""

    def __init__(self, root: str | os.PathLike[str], split: str = "val", mask_dir: str = "SegmentationClassAug") -> None:
        super().__init__(root, split)
        self.mask_dir = mask_dir

    def mask(self, i: int) -> np.ndarray:
        return read_label_png(self.root / self.mask_dir / f"{self.ids[i]}.png")

    def __getitem__(self, i: int) -> dict[str, Any]:
        img, m = self.image(i), self.mask(i)
        if m.shape != img.shape[:2]:
            raise DataError(f"mask of {self.ids[i]} is {m.shape}, image is {img.shape[:2]}")
        return {"id": self.ids[i], "image": img, "mask": m}


class VOCPseudoLabels(_VOCBase):
    """Items ``{"id", "image", "y_crf", "y_ret"}`` from ``Generation/Ycrf`` and ``Generation/Yret`` (§3.21).

    Semi-supervised setting (paper Table 2, "boxes 9K + masks 1K"; no official code, spec §6, §12 #1):
    for the ids in ``gt_mask_ids`` both label maps are the ground-truth ``SegmentationClassAug`` mask, so
    every pixel of those images is reliable (void pixels stay void).
    """

    def __init__(self, root: str | os.PathLike[str], split: str = "train_aug", crf_dir: str = "Generation/Ycrf",
                 ret_dir: str = "Generation/Yret", gt_mask_ids: Iterable[str] | None = None,
                 mask_dir: str = "SegmentationClassAug") -> None:
        super().__init__(root, split)
        self.crf_dir, self.ret_dir = self.root / crf_dir, self.root / ret_dir
        for d in (self.crf_dir, self.ret_dir):
            if not d.is_dir():
                raise DataError(f"pseudo-label folder not found: {d} (run 'bap pseudo-label' first)")
        self.gt_ids = set(gt_mask_ids or ())
        self.mask_dir = self.root / mask_dir
        missing = sorted(self.gt_ids - set(self.ids))
        if missing:
            raise DataError(f"{len(missing)} ids of the GT-mask list are not in split {split!r}, e.g. {missing[0]}")
        for sid in sorted(self.gt_ids):
            if not (self.mask_dir / f"{sid}.png").is_file():
                raise DataError(f"ground-truth mask not found: {self.mask_dir / f'{sid}.png'}")

    def __getitem__(self, i: int) -> dict[str, Any]:
        sid = self.ids[i]
        img = self.image(i)
        if sid in self.gt_ids:
            yc = read_label_png(self.mask_dir / f"{sid}.png")
            yr = yc
        else:
            yc, yr = read_label_png(self.crf_dir / f"{sid}.png"), read_label_png(self.ret_dir / f"{sid}.png")
        if yc.shape != img.shape[:2] or yr.shape != img.shape[:2]:
            raise DataError(f"labels of {sid} do not match the image size {img.shape[:2]}")
        return {"id": sid, "image": img, "y_crf": yc, "y_ret": yr, "gt_mask": sid in self.gt_ids}
