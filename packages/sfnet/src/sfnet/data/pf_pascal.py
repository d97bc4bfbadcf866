"""PF-PASCAL (Ham et al., 2018) in the layout of the official SFNet ``download_datasets.py``."""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from cvcore.data import read_image
from cvcore.errors import DataError
from sfnet.data.transforms import prepare_eval_image
from sfnet.metrics import EVAL_IMAGE_SIZE, threshold_length

__all__ = ["VOC_CLASSES", "PFPascal", "describe_layout", "parse_points", "resolve_image"]

VOC_CLASSES = ("aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
               "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train",
               "tvmonitor")


def describe_layout() -> str:
    """The on-disk layout :class:`PFPascal` reads::

        <root>/                                   (official: data/PF_Pascal)
          bbox_val_pairs_pf_pascal.csv
          bbox_test_pairs_pf_pascal.csv
          PF-dataset-PASCAL/JPEGImages/*.jpg      (paths as written in the CSV, relative to <root>)

    CSV header + one row per pair: ``source_image, target_image, class (1..20), XA, YA, XB, YB,
    L_pck`` where XA..YB are ``;``-separated pixel coordinates (``-1`` = missing) and L_pck is the
    max side of the source object's bounding box.
    """
    return describe_layout.__doc__ or ""


def parse_points(text: str, field: str, where: str) -> np.ndarray:
    """``"1.5;2;-1"`` -> float array; a clear :class:`DataError` otherwise."""
    try:
        return np.array([float(v) for v in str(text).replace(",", ";").split(";") if v.strip() != ""], np.float64)
    except ValueError as exc:
        raise DataError(f"{where}: column {field} must hold ';'-separated numbers, got {text!r}") from exc


def resolve_image(root: Path, rel: str) -> Path:
    """An image path from a CSV: ``root/rel``, else ``root/JPEGImages/<name>`` (flat copies)."""
    p = root / rel
    if p.is_file():
        return p
    alt = root / "JPEGImages" / Path(rel).name
    return alt if alt.is_file() else p


def read_csv_rows(path: Path, min_columns: int, layout: str) -> list[list[str]]:
    if not path.is_file():
        raise DataError(f"pair list not found: {path}\nexpected layout:\n{layout}")
    with open(path, newline="", encoding="utf-8") as f:
        rows = [r for r in csv.reader(f) if r and any(c.strip() for c in r)]
    if rows and not _is_number(rows[0][2] if len(rows[0]) > 2 else ""):
        rows = rows[1:]  # header
    for i, r in enumerate(rows):
        if len(r) < min_columns:
            raise DataError(f"{path}: row {i + 2} has {len(r)} columns, expected {min_columns}")
    if not rows:
        raise DataError(f"{path} lists no image pairs")
    return rows


def _is_number(s: str) -> bool:
    try:
        float(s.split(";")[0])
        return True
    except ValueError:
        return False


class PFPascal(Dataset):
    """PF-PASCAL pairs for keypoint-transfer evaluation.

    Args:
        root: folder holding ``bbox_<split>_pairs_pf_pascal.csv`` (see :func:`describe_layout`).
        split: ``"val"`` or ``"test"`` (``"train"`` if its CSV is present).
        eval_type: ``"image_size"`` (keypoints rescaled to 288 x 288, L = 288; the paper's PF-PASCAL
            numbers) or ``"bounding_box"`` (original pixels, L = the CSV's L_pck).
        feature_size: the model's grid (images are resized to 16(h-2) and padded by 16 px).

    Item (dict): ``source_image``/``target_image`` ``3 x 320 x 320`` (normalised, padded),
    ``source_points``/``target_points`` ``2 x K`` (pixels in the evaluation frame, ``-1`` missing),
    ``source_size``/``target_size`` ``(H, W)`` of that frame, ``L`` (threshold length), ``category``
    (0-based class index).
    """

    benchmark = "pf-pascal"

    def __init__(self, root: str | os.PathLike[str], split: str = "test", eval_type: str = "image_size",
                 feature_size: tuple[int, int] = (20, 20)) -> None:
        if eval_type not in ("image_size", "bounding_box"):
            raise ValueError(f"eval_type must be 'image_size' or 'bounding_box', got {eval_type!r}")
        self.root = Path(root)
        if not self.root.is_dir():
            raise DataError(f"PF-PASCAL root not found: {self.root}\nexpected layout:\n{describe_layout()}")
        self.split, self.eval_type, self.feature_size = split, eval_type, feature_size
        self.csv = self.root / f"bbox_{split}_pairs_pf_pascal.csv"
        self.rows = read_csv_rows(self.csv, 8, describe_layout())
        self.pairs = [self._parse(i, r) for i, r in enumerate(self.rows)]

    def _parse(self, i: int, r: list[str]) -> dict[str, Any]:
        where = f"{self.csv} row {i + 2}"
        xa, ya, xb, yb = (parse_points(r[3 + j], n, where) for j, n in enumerate(("XA", "YA", "XB", "YB")))
        if not (len(xa) == len(ya) == len(xb) == len(yb)) or len(xa) == 0:
            raise DataError(f"{where}: XA, YA, XB, YB must have the same, non-zero number of points")
        try:
            cls, length = int(float(r[2])), float(r[7])
        except ValueError as exc:
            raise DataError(f"{where}: class and L_pck must be numbers, got {r[2]!r}, {r[7]!r}") from exc
        if not 1 <= cls <= len(VOC_CLASSES):
            raise DataError(f"{where}: class {cls} is not in 1..20")
        return {"src": r[0].strip(), "tgt": r[1].strip(), "category": cls - 1,
                "src_pts": np.stack([xa, ya]), "tgt_pts": np.stack([xb, yb]), "L_pck": length}

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, index: int) -> dict[str, Any]:
        p = self.pairs[index]
        src = read_image(resolve_image(self.root, p["src"]))
        tgt = read_image(resolve_image(self.root, p["tgt"]))
        return build_item(src, tgt, p["src_pts"], p["tgt_pts"], self.eval_type, self.benchmark,
                          p["L_pck"], p["category"], self.feature_size)


def _rescale(points: np.ndarray, size: tuple[int, int], new: int) -> np.ndarray:
    out = points.copy()
    valid = (points[0] != -1) & (points[1] != -1)
    out[0, valid] = points[0, valid] * new / size[1]
    out[1, valid] = points[1, valid] * new / size[0]
    return out


def build_item(src: np.ndarray, tgt: np.ndarray, src_pts: np.ndarray, tgt_pts: np.ndarray, eval_type: str,
               benchmark: str, bbox_length: float | None, category: int, feature_size: tuple[int, int]
               ) -> dict[str, Any]:
    """Common evaluation item of PF-PASCAL and PF-WILLOW (official ``PF_Pascal``/``PF_WILLOW`` datasets)."""
    s_size, t_size = tuple(src.shape[:2]), tuple(tgt.shape[:2])
    if eval_type == "image_size":
        side = 16 * (feature_size[0] - 2)
        sp, tp = _rescale(src_pts, s_size, side), _rescale(tgt_pts, t_size, side)
        s_size = t_size = (side, side)
        length = threshold_length(benchmark, eval_type, image_size=side if side else EVAL_IMAGE_SIZE)
    else:
        sp, tp = src_pts, tgt_pts
        length = threshold_length(benchmark, eval_type, src_points=sp, bbox_length=bbox_length)
    return {"source_image": prepare_eval_image(src, feature_size), "target_image": prepare_eval_image(tgt, feature_size),
            "source_points": torch.from_numpy(sp).float(), "target_points": torch.from_numpy(tp).float(),
            "source_size": torch.tensor(s_size), "target_size": torch.tensor(t_size), "L": float(length),
            "category": int(category)}
