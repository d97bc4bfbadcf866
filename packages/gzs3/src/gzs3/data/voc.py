"""PASCAL VOC 2012 + SBD in the official layout, with unseen-image removal (spec §8, §3.15)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from cvcore.errors import DataError
from cvcore.progress import get_logger
from gzs3.data._common import SegmentationList, Transform, filter_unseen, read_label

__all__ = ["VOCZeroShot", "describe_layout"]

LAYOUT = """\
VOC2012/                                  (--data-root)
  ImageSets/Segmentation/train_aug.txt    lines '/JPEGImages/<id>.jpg /SegmentationClassAug/<id>.png'
                                          (or one <id> per line)
  ImageSets/Segmentation/val.txt          one <id> per line (1 449)
  JPEGImages/<id>.jpg
  SegmentationClass/<id>.png              val ground truth (palette PNG, 0-20, 255 = ignore)
  SegmentationClassAug/<id>.png           train_aug ground truth (grey PNG class ids)"""


def describe_layout() -> str:
    """The expected on-disk layout::

        VOC2012/
          ImageSets/Segmentation/{train_aug,val}.txt
          JPEGImages/<id>.jpg
          SegmentationClass/<id>.png
          SegmentationClassAug/<id>.png
    """
    return LAYOUT


class VOCZeroShot(SegmentationList):
    """PASCAL VOC 2012 (+SBD train_aug) for GZS3.

    Args:
        root: the ``VOC2012`` folder.
        split: ``"train_aug"``, ``"train"`` or ``"val"`` (any ``ImageSets/Segmentation/<split>.txt``).
        unseen: unseen class ids (:func:`gzs3.splits.unseen_classes`).
        remove_unseen_images: drop images with any unseen pixel; default (None) = True for
            training splits, False for ``val`` (all val images are evaluated, spec §7).
        transform: ``(image u8, label u8) -> (image (3,H,W) float, label (H,W) long)``.

    Items: ``(image (3, H, W) float32 normalised, label (H, W) long, 255 = ignore)``.
    """

    def __init__(self, root: str | os.PathLike[str], split: str = "train_aug", unseen: Sequence[int] = (),
                 remove_unseen_images: bool | None = None, transform: Transform | None = None) -> None:
        self.root = Path(root)
        self.split = split
        lst = self.root / "ImageSets" / "Segmentation" / f"{split}.txt"
        if not self.root.is_dir() or not lst.is_file():
            raise DataError(f"PASCAL VOC split list not found: {lst}; expected layout:\n{LAYOUT}")
        label_dir = "SegmentationClassAug" if split == "train_aug" else "SegmentationClass"
        items: list[tuple[Path, Path]] = []
        for n, line in enumerate(lst.read_text().splitlines(), 1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) == 1:
                items.append((self.root / "JPEGImages" / f"{parts[0]}.jpg", self.root / label_dir / f"{parts[0]}.png"))
            elif len(parts) == 2:
                items.append((self.root / parts[0].lstrip("/"), self.root / parts[1].lstrip("/")))
            else:
                raise DataError(f"{lst}:{n}: expected '<id>' or '<image> <label>', got {line!r}")
        if not items:
            raise DataError(f"{lst} lists no images")
        self.items = items
        self.transform = transform  # type: ignore[assignment]
        self.unseen = list(unseen)
        remove = (split != "val") if remove_unseen_images is None else remove_unseen_images
        self.num_removed = 0
        if remove:
            self.items, self.num_removed = filter_unseen(self.items, self._label, self.unseen)
            get_logger("gzs3").info("VOC %s: %d images kept, %d removed (contain unseen classes %s)",
                                    split, len(self.items), self.num_removed, self.unseen)

    def _label(self, i: int) -> np.ndarray:
        return read_label(self.items[i][1])
