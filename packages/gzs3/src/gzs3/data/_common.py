"""Pieces the VOC and Context loaders share: label reading, image removal, dataset protocol."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from cvcore.data import read_image
from cvcore.errors import DataError
from gzs3.data.transforms import EvalTransform
from gzs3.splits import contains_unseen

Transform = Callable[[np.ndarray, np.ndarray], tuple[torch.Tensor, torch.Tensor]]


def read_label(path: Path) -> np.ndarray:
    """A label PNG as ``(H, W)`` uint8 class ids (palette index for "P" PNGs, value for grey)."""
    if not path.is_file():
        raise DataError(f"label file not found: {path}")
    try:
        with Image.open(path) as im:
            im.load()
            if im.mode not in ("P", "L", "I", "I;16"):
                raise DataError(f"{path}: label PNGs must be palette or grey class ids, got mode {im.mode}")
            return np.array(im).astype(np.uint8)
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise DataError(f"cannot read label {path}: not an image or the file is corrupt ({exc})") from exc


def filter_unseen(items: list, labels: Callable[[int], np.ndarray], unseen: Sequence[int]) -> tuple[list, int]:
    """Drop items whose label has any unseen pixel (spec §3.15). Returns (kept, removed count)."""
    if not unseen:
        return items, 0
    kept = [it for i, it in enumerate(items) if not contains_unseen(labels(i), unseen)]
    return kept, len(items) - len(kept)


class SegmentationList(torch.utils.data.Dataset):
    """Base: ``items`` of (image path, label key); subclasses provide ``_label``."""

    items: list
    transform: Transform

    def __len__(self) -> int:
        return len(self.items)

    def _label(self, i: int) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def image_u8(self, i: int) -> np.ndarray:
        return read_image(self.items[i][0], "RGB")

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        img, lab = self.image_u8(i), self._label(i)
        if img.shape[:2] != lab.shape:
            raise DataError(f"{self.items[i][0]}: image {img.shape[:2]} and label {lab.shape} differ in size")
        return (self.transform or EvalTransform())(img, lab)
