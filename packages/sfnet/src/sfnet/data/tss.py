"""TSS (Taniai et al., CVPR 2016): dense flows with foreground masks. Protocol reconstructed.

The official SFNet repository ships no TSS evaluation; this follows CNNGeo/weakalign: PCK over
the ground-truth foreground pixels, alpha = 0.05, L = max(H, W), each pair in both directions.
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
from sfnet.data.transforms import prepare_eval_image

__all__ = ["FLO_MAGIC", "SUBSETS", "TSS", "describe_layout", "read_flo", "write_flo"]

SUBSETS = ("FG3DCar", "JODS", "PASCAL")
#: Middlebury ``.flo`` header tag.
FLO_MAGIC = 202021.25


def describe_layout() -> str:
    """The on-disk layout :class:`TSS` reads (the TSS_CVPR2016 release)::

        <root>/
          FG3DCar/<pair>/image1.png image2.png mask1.png mask2.png flow1.flo flow2.flo
          JODS/<pair>/...
          PASCAL/<pair>/...

    ``flow1.flo`` moves pixels of image1 into image2 (Middlebury format, values > 1e9 unknown);
    ``flow2.flo`` the reverse; ``mask1/2.png`` are the foregrounds (non-zero = object).
    """
    return describe_layout.__doc__ or ""


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

    Item (dict): ``source_image``/``target_image`` (normalised, padded ``3 x 320 x 320``), ``gt_flow``
    (``2 x H_t x W_t`` pixels: target pixel q matches source pixel ``q + gt_flow(q)``), ``mask``
    (``H_t x W_t`` target foreground), ``source_size``, ``target_size``, ``subset``, ``name``.
    """

    benchmark = "tss"

    def __init__(self, root: str | os.PathLike[str], feature_size: tuple[int, int] = (20, 20)) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise DataError(f"TSS root not found: {self.root}\nexpected layout:\n{describe_layout()}")
        self.feature_size = feature_size
        self.items: list[tuple[str, Path, int]] = []
        for subset in SUBSETS:
            folder = self.root / subset
            if not folder.is_dir():
                continue
            for pair in sorted(p for p in folder.iterdir() if p.is_dir()):
                if (pair / "image1.png").is_file() and (pair / "image2.png").is_file():
                    self.items += [(subset, pair, 1), (subset, pair, 2)]
        if not self.items:
            raise DataError(f"no TSS pairs under {self.root}\nexpected layout:\n{describe_layout()}")

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict[str, Any]:
        subset, pair, d = self.items[index]
        other = 2 if d == 1 else 1
        tgt = read_image(pair / f"image{d}.png")  # the query image the flow starts from
        src = read_image(pair / f"image{other}.png")
        flow = read_flo(pair / f"flow{d}.flo")
        mask = read_image(pair / f"mask{d}.png", mode="L") > 0
        if flow.shape[1:] != tgt.shape[:2] or mask.shape != tgt.shape[:2]:
            raise DataError(f"{pair}: flow{d}.flo / mask{d}.png do not match image{d}.png in size")
        return {"source_image": prepare_eval_image(src, self.feature_size),
                "target_image": prepare_eval_image(tgt, self.feature_size),
                "gt_flow": torch.from_numpy(flow), "mask": torch.from_numpy(mask),
                "source_size": torch.tensor(src.shape[:2]), "target_size": torch.tensor(tgt.shape[:2]),
                "subset": subset, "name": f"{pair.name}/{d}"}
