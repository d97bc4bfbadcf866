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


def read_sbd_label(path: Path) -> np.ndarray:
    """An SBD class annotation ``dataset/cls/<id>.mat`` as ``(H, W)`` uint8 class ids.

    The file holds a MATLAB struct ``GTcls`` with fields ``Segmentation`` (H x W class ids 0-20),
    ``Boundaries`` (20 x 1 cell of sparse edge maps) and ``CategoriesPresent``. It is read with
    ``scipy.io.loadmat(struct_as_record=False)`` (no ``squeeze_me``, so a one-row map stays 2-D):
    ``mat["GTcls"]`` is a 1 x 1 array of ``mat_struct`` whose ``.Segmentation`` is the map.
    """
    from scipy.io import loadmat

    if not path.is_file():
        raise DataError(f"SBD label file not found: {path}")
    try:
        mat = loadmat(path, struct_as_record=False, variable_names=["GTcls"])
    except Exception as exc:  # noqa: BLE001 - scipy raises several types for corrupt files
        raise DataError(f"cannot read SBD label {path}: not a MATLAB file or corrupt ({exc})") from exc
    gt = mat.get("GTcls")
    if gt is None:
        raise DataError(f"{path}: no 'GTcls' struct (expected an SBD dataset/cls/<id>.mat file)")
    try:
        seg = np.asarray(gt.reshape(-1)[0].Segmentation)
    except (AttributeError, IndexError) as exc:
        raise DataError(f"{path}: 'GTcls' has no 'Segmentation' field") from exc
    if seg.ndim != 2 or seg.size == 0:
        raise DataError(f"{path}: GTcls.Segmentation must be a 2-D class-id map, got shape {seg.shape}")
    if seg.min() < 0 or seg.max() > 255:
        raise DataError(f"{path}: GTcls.Segmentation values outside 0-255")
    return seg.astype(np.uint8)


def read_label(path: Path) -> np.ndarray:
    """A label as ``(H, W)`` uint8 class ids: PNG (palette index for "P" PNGs, value for grey) or an
    SBD ``.mat`` (:func:`read_sbd_label`)."""
    if path.suffix.lower() == ".mat":
        return read_sbd_label(path)
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
