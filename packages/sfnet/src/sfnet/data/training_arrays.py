"""The official training arrays (``VOC2012_seg_img.npy`` / ``VOC2012_seg_msk.npy``) and how to build them."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np

from cvcore.data import read_image
from cvcore.errors import DataError

__all__ = ["IMAGES_FILE", "MASKS_FILE", "describe_layout", "load_training_arrays", "prepare_voc"]

IMAGES_FILE = "VOC2012_seg_img.npy"
MASKS_FILE = "VOC2012_seg_msk.npy"


def describe_layout() -> str:
    """``<root>/training_data/VOC2012_seg_img.npy`` and ``VOC2012_seg_msk.npy`` (or both directly in
    ``<root>``): NumPy object arrays (pickled) of ``H x W x 3`` uint8 images and ``H x W`` uint8 masks
    with values 0/255 (official ``data/training_data``)."""
    return describe_layout.__doc__ or ""


def load_training_arrays(root: str | os.PathLike[str]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Read the two arrays. They are pickled object arrays: only open files you trust."""
    r = Path(root)
    folder = r / "training_data" if (r / "training_data" / IMAGES_FILE).is_file() else r
    ip, mp = folder / IMAGES_FILE, folder / MASKS_FILE
    if not ip.is_file() or not mp.is_file():
        raise DataError(f"training arrays not found under {r}: {describe_layout()}")
    try:
        images = list(np.load(ip, allow_pickle=True))
        masks = list(np.load(mp, allow_pickle=True))
    except (ValueError, OSError, EOFError) as exc:
        raise DataError(f"cannot read the training arrays in {folder}: {exc}") from exc
    if len(images) != len(masks) or not images:
        raise DataError(f"{folder}: {len(images)} images but {len(masks)} masks")
    for i, (a, m) in enumerate(zip(images, masks)):
        if np.asarray(a).ndim != 3 or np.asarray(m).shape != np.asarray(a).shape[:2]:
            raise DataError(f"{folder}: item {i} is not an H x W x 3 image with an H x W mask")
    return images, masks


def _excluded(csv_path: Path | None) -> set[str]:
    if csv_path is None:
        return set()
    if not csv_path.is_file():
        raise DataError(f"exclusion CSV not found: {csv_path}")
    names = set()
    with open(csv_path, newline="", encoding="utf-8") as f:
        for row in csv.reader(f):
            for cell in row[:2]:
                names.add(Path(cell.strip()).stem)
    return names


def prepare_voc(voc_root: str | os.PathLike[str], out_dir: str | os.PathLike[str],
                exclude_csv: str | os.PathLike[str] | None = None, split: str = "trainval") -> tuple[Path, Path, int]:
    """Build the two arrays from a local ``VOCdevkit/VOC2012``.

    Foreground = any label other than background (0) and void (255 -> background). Images listed
    in ``exclude_csv`` (e.g. the PF-PASCAL test pairs) are left out.

    Returns:
        ``(images_path, masks_path, count)``.
    """
    root = Path(voc_root)
    lst = root / "ImageSets" / "Segmentation" / f"{split}.txt"
    if not lst.is_file():
        raise DataError(f"{lst} not found: --voc-root must be VOCdevkit/VOC2012 with ImageSets/Segmentation, "
                        "JPEGImages and SegmentationClass")
    skip = _excluded(Path(exclude_csv) if exclude_csv else None)
    images, masks = [], []
    from PIL import Image

    for name in (n.strip() for n in lst.read_text().splitlines()):
        if not name or name in skip:
            continue
        img = read_image(root / "JPEGImages" / f"{name}.jpg")
        seg_path = root / "SegmentationClass" / f"{name}.png"
        if not seg_path.is_file():
            raise DataError(f"segmentation not found: {seg_path}")
        with Image.open(seg_path) as im:
            labels = np.asarray(im)  # palette indices
        if labels.shape != img.shape[:2]:
            raise DataError(f"{seg_path} and its image differ in size")
        images.append(img)
        masks.append(np.where((labels != 0) & (labels != 255), 255, 0).astype(np.uint8))
    if not images:
        raise DataError(f"no images left in {lst} after exclusions")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    obj_i = np.empty(len(images), dtype=object)
    obj_m = np.empty(len(masks), dtype=object)
    obj_i[:], obj_m[:] = images, masks
    from cvcore.io import atomic_write_with

    ip = atomic_write_with(out / IMAGES_FILE, lambda f: np.save(f, obj_i, allow_pickle=True))
    mp = atomic_write_with(out / MASKS_FILE, lambda f: np.save(f, obj_m, allow_pickle=True))
    return ip, mp, len(images)
