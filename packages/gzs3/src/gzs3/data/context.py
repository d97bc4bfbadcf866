"""PASCAL Context (59 classes + background) in the JoEm/ZS3Net layout (spec §8)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from cvcore.errors import DataError
from cvcore.progress import get_logger
from gzs3.data._common import SegmentationList, Transform, filter_unseen

__all__ = ["ContextZeroShot", "describe_layout"]

LAYOUT = """\
context/                                 (--data-root)
  59_labels.pth                          torch.save'd dict: image stem -> (H, W) int tensor, 0 = background, 1..59
  pascal_context_train.txt               lines '<image path relative to the image root> <dir>/<stem>.<ext>'
  pascal_context_val.txt
images: <image root>/<image path> (the VOC2012 folder; --set data.image_root=..., default: the Context root)"""


def describe_layout() -> str:
    """The expected on-disk layout::

        context/
          59_labels.pth
          pascal_context_{train,val}.txt
        VOC2012/JPEGImages/<id>.jpg      (image root)
    """
    return LAYOUT


def _stem(token: str) -> str:
    name = token.split("/", 1)[1] if "/" in token else token
    return name.split(".", 1)[0]


class ContextZeroShot(SegmentationList):
    """PASCAL Context for GZS3 (60 classes, order :data:`gzs3.splits.CONTEXT_CLASSES`).

    Args:
        root: folder with ``59_labels.pth`` and the list files.
        split: ``"train"`` (4 998) or ``"val"`` (5 105).
        unseen: unseen class ids.
        labels_file: the label dictionary file name inside ``root``.
        image_root: folder the image paths of the list are relative to (default ``root``).
        remove_unseen_images: as in :class:`gzs3.data.VOCZeroShot`.
    """

    def __init__(self, root: str | os.PathLike[str], split: str = "train", unseen: Sequence[int] = (),
                 labels_file: str = "59_labels.pth", image_root: str | os.PathLike[str] | None = None,
                 remove_unseen_images: bool | None = None, transform: Transform | None = None) -> None:
        self.root = Path(root)
        lst = self.root / f"pascal_context_{split}.txt"
        lab_path = self.root / labels_file
        if not lab_path.is_file():
            raise DataError(f"PASCAL Context labels not found: {lab_path}; expected layout:\n{LAYOUT}")
        if not lst.is_file():
            raise DataError(f"PASCAL Context list not found: {lst}; expected layout:\n{LAYOUT}")
        try:
            labels = torch.load(lab_path, map_location="cpu", weights_only=True)
        except Exception as exc:  # noqa: BLE001
            raise DataError(f"cannot read {lab_path}: truncated or not a torch-saved dict ({exc})") from exc
        if not isinstance(labels, dict):
            raise DataError(f"{lab_path} must hold a dict image stem -> label tensor, got {type(labels).__name__}")
        img_root = Path(image_root) if image_root is not None else self.root
        items: list[tuple[Path, str]] = []
        for n, line in enumerate(lst.read_text().splitlines(), 1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) != 2:
                raise DataError(f"{lst}:{n}: expected '<image path> <dir>/<stem>.<ext>', got {line!r}")
            stem = _stem(parts[1])
            if stem not in labels:
                raise DataError(f"{lst}:{n}: no label for '{stem}' in {lab_path}")
            items.append((img_root / parts[0].lstrip("/"), stem))
        if not items:
            raise DataError(f"{lst} lists no images")
        self.labels = labels
        self.items = items
        self.transform = transform  # type: ignore[assignment]
        self.unseen = list(unseen)
        remove = (split != "val") if remove_unseen_images is None else remove_unseen_images
        self.num_removed = 0
        if remove:
            self.items, self.num_removed = filter_unseen(self.items, self._label, self.unseen)
            get_logger("gzs3").info("Context %s: %d images kept, %d removed", split, len(self.items), self.num_removed)

    def _label(self, i: int) -> np.ndarray:
        t = self.labels[self.items[i][1]]
        a = t.numpy() if isinstance(t, torch.Tensor) else np.asarray(t)
        if a.ndim != 2:
            raise DataError(f"label of {self.items[i][1]} must be (H, W), got {a.shape}")
        if a.size and (a.min() < 0 or (a.max() > 59 and a.max() != 255)):
            raise DataError(f"label of {self.items[i][1]} has ids outside 0..59")
        return a.astype(np.uint8)
