"""TSS (Taniai et al., CVPR 2016): dense flows with foreground masks. Protocol reconstructed.

The official SFNet repository ships no TSS evaluation; this follows CNNGeo/weakalign and the TSS
toolkit: each pair in both directions, the flow of image d (d = 1, 2) is estimated against the
other image, which is first **flipped horizontally** when the pair's flip flag is set (the
``flip`` column of weakalign's ``test_pairs_tss.csv``, or ``flip_gt.txt`` in the pair folder of the
TSS release; the ground-truth flow of such a pair points into the flipped image). PCK over the
pixels with a valid ground-truth flow, alpha = 0.05, ``L = max(H, W)`` of the image the flow points
into (the toolkit's threshold).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from cvcore.data import read_image
from cvcore.errors import DataError
from sfnet.data.pf_pascal import read_csv_rows
from sfnet.data.transforms import prepare_eval_image

__all__ = ["CSV_NAME", "FLO_MAGIC", "SUBSETS", "TSS", "describe_layout", "read_flip", "read_flo", "write_flo"]

SUBSETS = ("FG3DCar", "JODS", "PASCAL")
#: Middlebury ``.flo`` header tag.
FLO_MAGIC = 202021.25
#: weakalign's pair list (one row per direction).
CSV_NAME = "test_pairs_tss.csv"


def describe_layout() -> str:
    """The on-disk layouts :class:`TSS` reads (the TSS_CVPR2016 release, optionally with weakalign's list)::

        <root>/                                    (TSS_CVPR2016, or a folder holding it)
          FG3DCar/<pair>/image1.png image2.png mask1.png mask2.png flow1.flo flow2.flo [flip_gt.txt]
          JODS/<pair>/...
          PASCAL/<pair>/...
          [test_pairs_tss.csv]                     (weakalign: datasets/tss/test_pairs_tss.csv)

    ``flow1.flo`` is defined on image1 and points into image2 (Middlebury format, values > 1e9
    unknown); ``flow2.flo`` the reverse; ``mask1/2.png`` are the foregrounds (non-zero = object);
    ``flip_gt.txt`` holds ``1`` when the other image must be flipped horizontally (missing = 0).
    ``test_pairs_tss.csv``: header + ``source_image, target_image, flow_direction (1|2), flip (0|1),
    category (1..3)`` per row, image paths relative to ``<root>``; when present it defines the pairs.
    """
    return describe_layout.__doc__ or ""


def read_flip(pair_dir: str | os.PathLike[str]) -> bool:
    """The ``flip_gt.txt`` flag of a TSS pair folder (``False`` when the file is absent)."""
    p = Path(pair_dir) / "flip_gt.txt"
    if not p.is_file():
        return False
    text = p.read_text().strip()
    if text not in ("0", "1"):
        raise DataError(f"{p} must hold 0 or 1, got {text[:20]!r}")
    return text == "1"


def read_flo(path: str | os.PathLike[str]) -> np.ndarray:
    """Read a Middlebury ``.flo`` file -> float32 ``2 x H x W`` (u, v in pixels)."""
    p = Path(path)
    if not p.is_file():
        raise DataError(f"flow file not found: {p}")
    raw = p.read_bytes()
    if len(raw) < 12 or abs(float(np.frombuffer(raw[:4], "<f4")[0]) - FLO_MAGIC) > 1e-3:
        raise DataError(f"{p} is not a Middlebury .flo file (bad header)")
    w, h = (int(v) for v in np.frombuffer(raw[4:12], "<i4"))
    data = np.frombuffer(raw[12:], "<f4")
    if w <= 0 or h <= 0 or data.size != 2 * w * h:
        raise DataError(f"{p} is truncated: header says {w}x{h}, file holds {data.size // 2} vectors")
    return data.reshape(h, w, 2).transpose(2, 0, 1).copy()


def write_flo(path: str | os.PathLike[str], flow: np.ndarray) -> Path:
    """Write ``2 x H x W`` pixels as a Middlebury ``.flo`` file."""
    f = np.asarray(flow, np.float32)
    h, w = f.shape[1:]
    p = Path(path)
    p.write_bytes(np.float32(FLO_MAGIC).tobytes() + np.array([w, h], "<i4").tobytes()
                  + f.transpose(1, 2, 0).astype("<f4").tobytes())
    return p


class TSS(Dataset):
    """Both directions of every TSS pair as separate items.

    Item (dict): ``source_image``/``target_image`` (normalised, padded ``3 x 320 x 320``; the source
    flipped horizontally when ``flip``), ``gt_flow`` (``2 x H_t x W_t`` pixels: target pixel q
    matches (flipped) source pixel ``q + gt_flow(q)``), ``mask`` (``H_t x W_t`` target foreground),
    ``source_size``, ``target_size``, ``L`` (``max`` side of the source), ``flip``, ``subset``, ``name``.
    """

    benchmark = "tss"

    def __init__(self, root: str | os.PathLike[str], feature_size: tuple[int, int] = (20, 20),
                 csv_name: str = CSV_NAME) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise DataError(f"TSS root not found: {self.root}\nexpected layout:\n{describe_layout()}")
        self.feature_size = feature_size
        #: (subset, pair folder, direction d = image the flow is defined on, flip the other image)
        self.items: list[tuple[str, Path, int, bool]] = []
        self.csv = self.root / csv_name
        if self.csv.is_file():
            self._from_csv()
        else:
            self._from_folders(self.root if any((self.root / s).is_dir() for s in SUBSETS)
                               else self.root / "TSS_CVPR2016")
        if not self.items:
            raise DataError(f"no TSS pairs under {self.root}\nexpected layout:\n{describe_layout()}")

    def _from_folders(self, base: Path) -> None:
        for subset in SUBSETS:
            folder = base / subset
            if not folder.is_dir():
                continue
            for pair in sorted(p for p in folder.iterdir() if p.is_dir()):
                if (pair / "image1.png").is_file() and (pair / "image2.png").is_file():
                    flip = read_flip(pair)
                    self.items += [(subset, pair, 1, flip), (subset, pair, 2, flip)]

    def _resolve(self, rel: str) -> Path:
        p = self.root / rel
        if not p.exists() and len(Path(rel).parts) > 1:  # list written for the parent of TSS_CVPR2016
            alt = self.root.joinpath(*Path(rel).parts[1:])
            if alt.exists():
                return alt
        return p

    def _from_csv(self) -> None:
        for i, r in enumerate(read_csv_rows(self.csv, 4, describe_layout())):
            where = f"{self.csv} row {i + 2}"
            try:
                d, flip = int(float(r[2])), int(float(r[3]))
            except ValueError as exc:
                raise DataError(f"{where}: flow_direction and flip must be integers, got {r[2]!r}, {r[3]!r}") from exc
            if d not in (1, 2) or flip not in (0, 1):
                raise DataError(f"{where}: flow_direction must be 1 or 2 and flip 0 or 1, got {d}, {flip}")
            src, tgt = self._resolve(r[0].strip()), self._resolve(r[1].strip())
            if tgt.name != f"image{d}.png" or src.parent != tgt.parent:
                raise DataError(f"{where}: the target must be image{d}.png of the source's pair folder "
                                f"(flow{d}.flo is defined on it), got {r[0].strip()!r} -> {r[1].strip()!r}")
            subset = tgt.parent.parent.name
            self.items.append((subset if subset in SUBSETS else "TSS", tgt.parent, d, bool(flip)))

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict[str, Any]:
        subset, pair, d, flip = self.items[index]
        other = 2 if d == 1 else 1
        tgt = read_image(pair / f"image{d}.png")  # the query image the flow starts from
        src = read_image(pair / f"image{other}.png")
        if flip:
            src = np.ascontiguousarray(src[:, ::-1])
        flow = read_flo(pair / f"flow{d}.flo")
        mask = read_image(pair / f"mask{d}.png", mode="L") > 0
        if flow.shape[1:] != tgt.shape[:2] or mask.shape != tgt.shape[:2]:
            raise DataError(f"{pair}: flow{d}.flo / mask{d}.png do not match image{d}.png in size")
        return {"source_image": prepare_eval_image(src, self.feature_size),
                "target_image": prepare_eval_image(tgt, self.feature_size),
                "gt_flow": torch.from_numpy(flow), "mask": torch.from_numpy(mask),
                "source_size": torch.tensor(src.shape[:2]), "target_size": torch.tensor(tgt.shape[:2]),
                "L": float(max(src.shape[:2])), "flip": flip, "subset": subset, "name": f"{pair.name}/{d}"}
