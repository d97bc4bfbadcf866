"""Caltech-101 image pairs for mask transfer (LT-ACC, IoU, LOC-ERR), in the CNNGeo / weakalign layout.

The official SFNet repository ships no Caltech-101 evaluation; the paper compares with CNNGeo and
weakalign, whose evaluation (``test_pairs_caltech_with_category.csv``: 1,515 pairs, 15 per category,
object polygons from the Caltech-101 annotation files) this module reads. Protocol reconstructed.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from cvcore.data import read_image
from cvcore.errors import DataError
from sfnet.data.pf_pascal import read_csv_rows
from sfnet.data.transforms import prepare_eval_image

__all__ = ["ANNOTATION_ALIASES", "CALTECH_CATEGORIES", "CSV_NAME", "Caltech101", "annotation_path",
           "describe_layout", "polygon_mask", "read_annotation"]

#: pair list of the CNNGeo / weakalign evaluation.
CSV_NAME = "test_pairs_caltech_with_category.csv"

#: the 101 object categories in the order of the CSV's category column (1..101): the image folder
#: names of ``101_ObjectCategories`` sorted by code point (upper case first).
CALTECH_CATEGORIES = tuple(sorted((
    "Faces", "Faces_easy", "Leopards", "Motorbikes", "accordion", "airplanes", "anchor", "ant", "barrel", "bass",
    "beaver", "binocular", "bonsai", "brain", "brontosaurus", "buddha", "butterfly", "camera", "cannon", "car_side",
    "ceiling_fan", "cellphone", "chair", "chandelier", "cougar_body", "cougar_face", "crab", "crayfish", "crocodile",
    "crocodile_head", "cup", "dalmatian", "dollar_bill", "dolphin", "dragonfly", "electric_guitar", "elephant", "emu",
    "euphonium", "ewer", "ferry", "flamingo", "flamingo_head", "garfield", "gerenuk", "gramophone", "grand_piano",
    "hawksbill", "headphone", "hedgehog", "helicopter", "ibis", "inline_skate", "joshua_tree", "kangaroo", "ketch",
    "lamp", "laptop", "llama", "lobster", "lotus", "mandolin", "mayfly", "menorah", "metronome", "minaret",
    "nautilus", "octopus", "okapi", "pagoda", "panda", "pigeon", "pizza", "platypus", "pyramid", "revolver", "rhino",
    "rooster", "saxophone", "schooner", "scissors", "scorpion", "sea_horse", "snoopy", "soccer_ball", "stapler",
    "starfish", "stegosaurus", "stop_sign", "strawberry", "sunflower", "tick", "trilobite", "umbrella", "watch",
    "water_lilly", "wheelchair", "wild_cat", "windsor_chair", "wrench", "yin_yang")))

#: annotation folders of the original ``Annotations.tar`` whose names differ from the image folders
#: (weakalign renames them after download; both spellings are accepted here).
ANNOTATION_ALIASES = {"airplanes": "Airplanes_Side_2", "Faces": "Faces_2", "Faces_easy": "Faces_3",
                      "Motorbikes": "Motorbikes_16"}


def describe_layout() -> str:
    """The on-disk layout :class:`Caltech101` reads (weakalign's ``datasets/caltech-101``)::

        <root>/
          test_pairs_caltech_with_category.csv
          101_ObjectCategories/<category>/image_0001.jpg ...
          Annotations/<category>/annotation_0001.mat ...   (Airplanes_Side_2, Faces_2, Faces_3,
                                                           Motorbikes_16 accepted for the renamed four)

    CSV header + one row per pair: ``source_image, target_image, category (1..101; a column holding
    0 is read as 0..100), XA, YA, XB, YB``;
    image paths are relative to ``<root>``; ``XA``/``YA`` (``XB``/``YB``) are the source (target)
    object polygon's vertex x / y pixel coordinates as comma-separated numbers in one field.
    Each ``annotation_XXXX.mat`` holds ``box_coord`` (1 x 4: top, bottom, left, right) and
    ``obj_contour`` (2 x N, relative to the box's left/top corner).
    """
    return describe_layout.__doc__ or ""


def polygon_mask(xs: Any, ys: Any, shape: tuple[int, int]) -> np.ndarray:
    """Rasterise a polygon the way the protocol does (``skimage.draw.polygon(ys, xs, shape)``): pixel
    ``(r, c)`` is inside when its centre ``(x=c, y=r)`` is inside the polygon (even-odd rule).

    Args:
        xs, ys: vertex coordinates in pixels (0-based; the CSV values are used as they are).
        shape: ``(H, W)`` of the image.

    Returns:
        bool ``H x W`` mask.
    """
    x = np.asarray(xs, np.float64).ravel()
    y = np.asarray(ys, np.float64).ravel()
    h, w = shape
    mask = np.zeros((h, w), bool)
    if x.size < 3 or x.size != y.size:
        return mask
    x0, y0, x1, y1 = x, y, np.roll(x, -1), np.roll(y, -1)
    cols = np.arange(w, dtype=np.float64)
    r_lo, r_hi = max(0, int(np.floor(y.min()))), min(h - 1, int(np.ceil(y.max())))
    for r in range(r_lo, r_hi + 1):
        cross = (y0 > r) != (y1 > r)  # edges straddling the horizontal line through the pixel centres
        if not cross.any():
            continue
        xi = x0[cross] + (r - y0[cross]) * (x1[cross] - x0[cross]) / (y1[cross] - y0[cross])
        # number of crossings strictly right of each pixel centre; odd -> inside
        right = len(xi) - np.searchsorted(np.sort(xi), cols, side="right")
        mask[r] = (right % 2) == 1
    return mask


def _category_from_path(rel: str) -> tuple[str, str]:
    parts = Path(rel).parts
    m = re.search(r"(\d+)", Path(rel).stem)
    if len(parts) < 2 or m is None:
        raise DataError(f"cannot derive the annotation file of image {rel!r}: expected "
                        "'101_ObjectCategories/<category>/image_XXXX.jpg'")
    return parts[-2], m.group(1)


def annotation_path(root: str | os.PathLike[str], image_rel: str) -> Path:
    """``101_ObjectCategories/<cat>/image_0007.jpg`` -> ``<root>/Annotations/<cat>/annotation_0007.mat``
    (or the original folder name of the four renamed categories, see :data:`ANNOTATION_ALIASES`)."""
    cat, num = _category_from_path(image_rel)
    base = Path(root) / "Annotations"
    for folder in (cat, ANNOTATION_ALIASES.get(cat, cat)):
        p = base / folder / f"annotation_{num}.mat"
        if p.is_file():
            return p
    return base / cat / f"annotation_{num}.mat"


def read_annotation(path: str | os.PathLike[str]) -> np.ndarray:
    """Object polygon of one Caltech-101 annotation file -> ``2 x N`` (x, y) pixel coordinates.

    ``x = obj_contour[0] + box_coord[2]`` (left), ``y = obj_contour[1] + box_coord[0]`` (top), the
    convention of Caltech's ``show_annotation.m``.
    """
    p = Path(path)
    if not p.is_file():
        raise DataError(f"annotation file not found: {p}\nexpected layout:\n{describe_layout()}")
    from scipy.io import loadmat

    try:
        data = loadmat(p)
    except Exception as exc:  # noqa: BLE001 - scipy raises several types for damaged files
        raise DataError(f"{p} is not a readable MATLAB annotation file ({type(exc).__name__})") from exc
    if "box_coord" not in data or "obj_contour" not in data:
        raise DataError(f"{p} lacks 'box_coord' / 'obj_contour'")
    box = np.asarray(data["box_coord"], np.float64).ravel()
    contour = np.asarray(data["obj_contour"], np.float64)
    if box.size != 4 or contour.ndim != 2 or contour.shape[0] != 2:
        raise DataError(f"{p}: box_coord must have 4 values and obj_contour 2 rows, got {box.size} and "
                        f"{contour.shape}")
    return np.stack([contour[0] + box[2], contour[1] + box[0]])


def _parse_polygon(text: str, field: str, where: str) -> np.ndarray:
    vals = [v for v in re.split(r"[,;\s]+", str(text).strip()) if v]
    try:
        return np.array([float(v) for v in vals], np.float64)
    except ValueError as exc:
        raise DataError(f"{where}: column {field} must hold comma-separated numbers, got {text[:40]!r}") from exc


class Caltech101(Dataset):
    """Caltech-101 pairs: the source object mask is transferred to the target with the predicted
    target->source grid and compared with the target mask (LT-ACC, IoU, LOC-ERR).

    Args:
        root: the folder of :func:`describe_layout`.
        polygons: ``"csv"`` (the polygons written in the pair list, as weakalign reads them) or
            ``"annotations"`` (rebuilt from ``Annotations/<category>/annotation_XXXX.mat``).
        feature_size: the model's grid (images are resized to ``16(h-2)`` and padded by 16 px).

    Item (dict): ``source_image``/``target_image`` ``3 x 320 x 320`` (normalised, padded),
    ``source_mask``/``target_mask`` bool ``H x W`` at the original image sizes, ``source_size``,
    ``target_size`` ``(H, W)``, ``category`` (0-based), ``name``.
    """

    benchmark = "caltech"

    def __init__(self, root: str | os.PathLike[str], polygons: str = "csv", feature_size: tuple[int, int] = (20, 20),
                 csv_name: str = CSV_NAME) -> None:
        if polygons not in ("csv", "annotations"):
            raise ValueError(f"polygons must be 'csv' or 'annotations', got {polygons!r}")
        self.root = Path(root)
        if not self.root.is_dir():
            raise DataError(f"Caltech-101 root not found: {self.root}\nexpected layout:\n{describe_layout()}")
        self.polygons, self.feature_size = polygons, feature_size
        self.csv = self.root / csv_name
        rows = read_csv_rows(self.csv, 3 if polygons == "annotations" else 7, describe_layout())
        cats = []
        for i, r in enumerate(rows):
            try:
                cats.append(int(float(r[2])))
            except ValueError as exc:
                raise DataError(f"{self.csv} row {i + 2}: category must be a number, got {r[2]!r}") from exc
        # 1..101 as in the weakalign list; a column that contains 0 is read as 0-based instead
        base = 0 if min(cats) == 0 else 1
        self.pairs = [self._parse(i, r, c - base) for i, (r, c) in enumerate(zip(rows, cats))]

    def _parse(self, i: int, r: list[str], cat: int) -> dict[str, Any]:
        where = f"{self.csv} row {i + 2}"
        if not 0 <= cat < len(CALTECH_CATEGORIES):
            raise DataError(f"{where}: category {r[2].strip()} is outside 1..{len(CALTECH_CATEGORIES)} "
                            f"(or 0..{len(CALTECH_CATEGORIES) - 1} for a 0-based column)")
        pair: dict[str, Any] = {"src": r[0].strip(), "tgt": r[1].strip(), "category": cat}
        if self.polygons == "csv":
            xa, ya, xb, yb = (_parse_polygon(r[3 + j], n, where) for j, n in enumerate(("XA", "YA", "XB", "YB")))
            if len(xa) != len(ya) or len(xb) != len(yb) or len(xa) < 3 or len(xb) < 3:
                raise DataError(f"{where}: XA/YA and XB/YB must be polygons with the same number (>= 3) of x and "
                                "y values")
            pair["src_poly"], pair["tgt_poly"] = np.stack([xa, ya]), np.stack([xb, yb])
        return pair

    def __len__(self) -> int:
        return len(self.pairs)

    def _polygon(self, p: dict[str, Any], side: str) -> np.ndarray:
        if self.polygons == "csv":
            return p[f"{side}_poly"]
        return read_annotation(annotation_path(self.root, p[side]))

    def _image(self, rel: str) -> Path:
        """``<root>/<rel>``, else ``<root>/101_ObjectCategories/<rel>`` (lists written without the folder)."""
        p = self.root / rel
        alt = self.root / "101_ObjectCategories" / rel
        return alt if not p.is_file() and alt.is_file() else p

    def __getitem__(self, index: int) -> dict[str, Any]:
        p = self.pairs[index]
        src, tgt = read_image(self._image(p["src"])), read_image(self._image(p["tgt"]))
        sp, tp = self._polygon(p, "src"), self._polygon(p, "tgt")
        return {"source_image": prepare_eval_image(src, self.feature_size),
                "target_image": prepare_eval_image(tgt, self.feature_size),
                "source_mask": torch.from_numpy(polygon_mask(sp[0], sp[1], src.shape[:2])),
                "target_mask": torch.from_numpy(polygon_mask(tp[0], tp[1], tgt.shape[:2])),
                "source_size": torch.tensor(src.shape[:2]), "target_size": torch.tensor(tgt.shape[:2]),
                "category": p["category"], "name": f"{p['src']}|{p['tgt']}"}
