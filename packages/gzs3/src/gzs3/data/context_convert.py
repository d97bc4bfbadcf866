"""Build ``59_labels.pth`` from the raw PASCAL Context release (spec §8, §12 issue #5).

Raw layout: ``trainval/<stem>.mat`` each holding ``LabelMap`` (H x W, ids of the 459-class list)
and ``labels.txt`` with ``<id>: <name>`` lines. The 59 classes of
:data:`gzs3.splits.CONTEXT_CLASSES` keep their ids 1..59 (ZS3Net renames: table = diningtable,
bedclothes = bedcloth, cloth = clothes); everything else becomes 0 (background).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import torch

from cvcore.errors import DataError
from gzs3.splits import CONTEXT_CLASSES

__all__ = ["ALIASES", "convert_context_mat", "read_label_names"]

#: raw Context names that map onto a ZS3Net class name
ALIASES = {"diningtable": "table", "bedcloth": "bedclothes", "clothes": "cloth", "tvmonitor": "tvmonitor",
           "pottedplant": "pottedplant", "aeroplane": "aeroplane"}


def read_label_names(path: str | os.PathLike[str]) -> dict[int, str]:
    """``<id>: <name>`` lines → ``{id: name}``."""
    p = Path(path)
    if not p.is_file():
        raise DataError(f"PASCAL Context class list not found: {p} (lines '<id>: <name>')")
    out = {}
    for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        m = re.match(r"\s*(\d+)\s*:\s*(.+?)\s*$", line)
        if not m:
            raise DataError(f"{p}:{n}: expected '<id>: <name>', got {line!r}")
        out[int(m.group(1))] = m.group(2)
    return out


def convert_context_mat(trainval_dir: str | os.PathLike[str], labels_txt: str | os.PathLike[str],
                        out: str | os.PathLike[str]) -> dict[str, torch.Tensor]:
    """Convert every ``trainval/*.mat`` and write the ``59_labels.pth`` dict atomically; returns it."""
    from scipy.io import loadmat

    from cvcore.io import atomic_write_with

    folder = Path(trainval_dir)
    if not folder.is_dir():
        raise DataError(f"PASCAL Context annotation folder not found: {folder} (trainval/<stem>.mat)")
    names = read_label_names(labels_txt)
    target = {n: i for i, n in enumerate(CONTEXT_CLASSES) if i > 0}
    lut_size = max(names) + 1
    lut = np.zeros(lut_size, np.int64)
    for raw_id, name in names.items():
        key = ALIASES.get(name.lower(), name.lower())
        lut[raw_id] = target.get(key, 0)
    found = set(lut[lut > 0].tolist())
    if len(found) != 59:
        missing = sorted(set(target) - {CONTEXT_CLASSES[i] for i in found})
        raise DataError(f"{labels_txt}: classes not found in the 459-class list: {missing}")
    result: dict[str, torch.Tensor] = {}
    files = sorted(folder.glob("*.mat"))
    if not files:
        raise DataError(f"{folder} has no .mat files")
    for f in files:
        try:
            lm = np.asarray(loadmat(f)["LabelMap"], dtype=np.int64)
        except Exception as exc:  # noqa: BLE001
            raise DataError(f"cannot read LabelMap from {f}: {exc}") from exc
        if lm.size and (lm.min() < 0 or lm.max() >= lut_size):
            raise DataError(f"{f}: LabelMap ids outside the class list")
        result[f.stem] = torch.from_numpy(lut[lm])
    atomic_write_with(out, lambda fh: torch.save(result, fh))
    return result
