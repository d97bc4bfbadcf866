"""PASCAL VOC 2012 + SBD in the official layout, with unseen-image removal (spec §8, §3.15)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from cvcore.errors import DataError
from cvcore.progress import get_logger
from gzs3.data._common import SegmentationList, Transform, filter_unseen, read_label

__all__ = ["VOCZeroShot", "describe_layout", "sbd_dataset_dir", "train_aug_items"]

LAYOUT = """\
VOC2012/                                  (--data-root)
  ImageSets/Segmentation/train_aug.txt    lines '/JPEGImages/<id>.jpg /SegmentationClassAug/<id>.png'
                                          (or one <id> per line)
  ImageSets/Segmentation/val.txt          one <id> per line (1 449)
  JPEGImages/<id>.jpg
  SegmentationClass/<id>.png              val ground truth (palette PNG, 0-20, 255 = ignore)
  SegmentationClassAug/<id>.png           train_aug ground truth (grey PNG class ids)
or, instead of SegmentationClassAug, the raw SBD release (--sbd-root / data.sbd_root):
benchmark_RELEASE/dataset/                (either folder may be given)
  cls/<id>.mat                            MATLAB struct GTcls with field Segmentation (class ids)
  train.txt, val.txt                      SBD ids (train_aug = SBD train + val + VOC train - VOC val)"""


def describe_layout() -> str:
    """The expected on-disk layout::

        VOC2012/
          ImageSets/Segmentation/{train_aug,val}.txt
          JPEGImages/<id>.jpg
          SegmentationClass/<id>.png
          SegmentationClassAug/<id>.png
    """
    return LAYOUT


def sbd_dataset_dir(sbd_root: str | os.PathLike[str]) -> Path:
    """The SBD ``dataset`` folder (holding ``cls/``) from ``benchmark_RELEASE`` or ``dataset`` itself."""
    root = Path(sbd_root)
    for cand in (root / "dataset", root):
        if (cand / "cls").is_dir():
            return cand
    raise DataError(f"SBD folder not found: {root} has no cls/ or dataset/cls/ (benchmark_RELEASE/dataset/cls/<id>.mat); "
                    f"expected layout:\n{LAYOUT}")


def _ids(path: Path) -> list[str]:
    return [ln.split()[0] for ln in path.read_text().splitlines() if ln.strip()]


def train_aug_items(root: str | os.PathLike[str], sbd_root: str | os.PathLike[str]) -> list[tuple[Path, Path]]:
    """The 10 582-image ``train_aug`` set built from the folders (issues #1, #6 of the official repo).

    ids = (SBD ``train.txt`` ∪ SBD ``val.txt`` ∪ VOC ``train.txt``) − VOC ``val.txt``, sorted; the
    label of an id is the VOC ``SegmentationClass/<id>.png`` when VOC annotates it, else the SBD
    ``cls/<id>.mat``. Images come from ``JPEGImages`` (SBD ``img/<id>.jpg`` when VOC lacks one).
    """
    root = Path(root)
    sbd = sbd_dataset_dir(sbd_root)
    seg = root / "ImageSets" / "Segmentation"
    for f in (seg / "train.txt", seg / "val.txt", sbd / "train.txt", sbd / "val.txt"):
        if not f.is_file():
            raise DataError(f"{f} not found: building train_aug needs the VOC and SBD split lists; expected layout:\n{LAYOUT}")
    voc_train, voc_val = set(_ids(seg / "train.txt")), set(_ids(seg / "val.txt"))
    ids = sorted((set(_ids(sbd / "train.txt")) | set(_ids(sbd / "val.txt")) | voc_train) - voc_val)
    items = []
    for i in ids:
        png = root / "SegmentationClass" / f"{i}.png"
        label = png if i in voc_train and png.is_file() else sbd / "cls" / f"{i}.mat"
        img = root / "JPEGImages" / f"{i}.jpg"
        if not img.is_file() and (sbd / "img" / f"{i}.jpg").is_file():
            img = sbd / "img" / f"{i}.jpg"
        items.append((img, label))
    return items


class VOCZeroShot(SegmentationList):
    """PASCAL VOC 2012 (+SBD train_aug) for GZS3.

    Args:
        root: the ``VOC2012`` folder.
        split: ``"train_aug"``, ``"train"`` or ``"val"`` (any ``ImageSets/Segmentation/<split>.txt``).
        unseen: unseen class ids (:func:`gzs3.splits.unseen_classes`).
        remove_unseen_images: drop images with any unseen pixel; default (None) = True for
            training splits, False for ``val`` (all val images are evaluated, spec §7).
        transform: ``(image u8, label u8) -> (image (3,H,W) float, label (H,W) long)``.
        sbd_root: the raw SBD release (``benchmark_RELEASE`` or its ``dataset`` folder). With it,
            an id whose ``SegmentationClassAug/<id>.png`` is missing reads ``cls/<id>.mat``, and a
            missing ``train_aug.txt`` is built by :func:`train_aug_items`. List lines may also
            name ``.mat`` labels directly.
        ignore_classes: class ids turned into 255 when read (SPNet setting: background, and the
            unseen classes in training; the official ``ignore_bg`` / ``ignore_unseen``).

    Items: ``(image (3, H, W) float32 normalised, label (H, W) long, 255 = ignore)``.
    """

    def __init__(self, root: str | os.PathLike[str], split: str = "train_aug", unseen: Sequence[int] = (),
                 remove_unseen_images: bool | None = None, transform: Transform | None = None,
                 sbd_root: str | os.PathLike[str] | None = None, ignore_classes: Sequence[int] = ()) -> None:
        self.root = Path(root)
        self.ignore_classes = list(ignore_classes)
        self.split = split
        lst = self.root / "ImageSets" / "Segmentation" / f"{split}.txt"
        sbd = sbd_dataset_dir(sbd_root) if sbd_root is not None else None
        if not self.root.is_dir() or (not lst.is_file() and not (sbd is not None and split == "train_aug")):
            raise DataError(f"PASCAL VOC split list not found: {lst}; expected layout:\n{LAYOUT}")
        label_dir = "SegmentationClassAug" if split == "train_aug" else "SegmentationClass"
        items: list[tuple[Path, Path]] = []
        lines = lst.read_text().splitlines() if lst.is_file() else []
        if not lst.is_file():
            assert sbd is not None
            items = train_aug_items(self.root, sbd)
        for n, line in enumerate(lines, 1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) == 1:
                label = self.root / label_dir / f"{parts[0]}.png"
                if sbd is not None and not label.is_file():
                    label = sbd / "cls" / f"{parts[0]}.mat"
                items.append((self.root / "JPEGImages" / f"{parts[0]}.jpg", label))
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
        lab = read_label(self.items[i][1])
        if self.ignore_classes:
            lab = np.where(np.isin(lab, self.ignore_classes), np.uint8(255), lab)
        return lab
