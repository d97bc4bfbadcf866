"""PF-WILLOW (Ham et al., 2016) in the layout of the official SFNet ``download_datasets.py``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
from torch.utils.data import Dataset

from cvcore.data import read_image
from cvcore.errors import DataError
from sfnet.data.pf_pascal import build_item, read_csv_rows, resolve_image

__all__ = ["N_KEYPOINTS", "PFWillow", "describe_layout"]

#: keypoints per image in PF-WILLOW.
N_KEYPOINTS = 10


def describe_layout() -> str:
    """The on-disk layout :class:`PFWillow` reads::

        <root>/                                   (official: data/PF_WILLOW)
          test_pairs_pf.csv
          PF-dataset/<subset>/*.png               (paths as written in the CSV, relative to <root>)

    CSV header + 900 rows: ``imageA, imageB``, then 10 x- and 10 y-coordinates of A, then 10 x- and
    10 y-coordinates of B (42 columns, pixels of the original images).
    """
    return describe_layout.__doc__ or ""


class PFWillow(Dataset):
    """PF-WILLOW pairs; ``eval_type="bounding_box"`` (default, the paper's setting) uses
    ``L = max side of the source keypoints' bounding box``; ``"image_size"`` rescales to 288 x 288.

    Items as :class:`~sfnet.data.pf_pascal.PFPascal` (``category`` is always 0).
    """

    benchmark = "pf-willow"

    def __init__(self, root: str | os.PathLike[str], eval_type: str = "bounding_box",
                 feature_size: tuple[int, int] = (20, 20), csv_name: str = "test_pairs_pf.csv") -> None:
        if eval_type not in ("image_size", "bounding_box"):
            raise ValueError(f"eval_type must be 'image_size' or 'bounding_box', got {eval_type!r}")
        self.root = Path(root)
        if not self.root.is_dir():
            raise DataError(f"PF-WILLOW root not found: {self.root}\nexpected layout:\n{describe_layout()}")
        self.eval_type, self.feature_size = eval_type, feature_size
        self.csv = self.root / csv_name
        rows = read_csv_rows(self.csv, 2 + 4 * N_KEYPOINTS, describe_layout())
        self.pairs = []
        for i, r in enumerate(rows):
            try:
                v = np.array([float(x) for x in r[2:2 + 4 * N_KEYPOINTS]], np.float64).reshape(4, N_KEYPOINTS)
            except ValueError as exc:
                raise DataError(f"{self.csv} row {i + 2}: keypoint columns must be numbers") from exc
            self.pairs.append({"src": r[0].strip(), "tgt": r[1].strip(), "src_pts": v[:2], "tgt_pts": v[2:]})

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, index: int) -> dict[str, Any]:
        p = self.pairs[index]
        src = read_image(resolve_image(self.root, p["src"]))
        tgt = read_image(resolve_image(self.root, p["tgt"]))
        return build_item(src, tgt, p["src_pts"], p["tgt_pts"], self.eval_type, self.benchmark, None, 0,
                          self.feature_size)
