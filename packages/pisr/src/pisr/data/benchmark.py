"""The SR benchmark packaging of Set5 / Set14 / B100 / Urban100 (spec section 8)."""

from __future__ import annotations

import os
from pathlib import Path

from cvcore.errors import DataError
from pisr.data.pairs import ImageFolderPairs

__all__ = ["BENCHMARK_SETS", "benchmark_folder", "describe_layout"]

BENCHMARK_SETS = ("Set5", "Set14", "B100", "Urban100")


def describe_layout() -> str:
    """The expected on-disk layout::

        <data-root>/benchmark/<Set>/HR/<name>.png
        <data-root>/benchmark/<Set>/LR_bicubic/X2/<name>x2.png   (X3/<name>x3.png, X4/<name>x4.png)

    with ``<Set>`` one of Set5, Set14, B100, Urban100 (``<data-root>`` may also be the
    ``benchmark`` folder). Without ``LR_bicubic/X<s>`` the LR images are made with (E10).
    """
    return describe_layout.__doc__ or ""


def benchmark_folder(root: str | os.PathLike[str], name: str, scale: int, *, require_lr: bool = False) -> ImageFolderPairs:
    """Whole-image pairs of benchmark set ``name`` at scale ``s``."""
    root = Path(root)
    base = root / "benchmark" if (root / "benchmark").is_dir() else root
    hr = base / name / "HR"
    if not hr.is_dir():
        raise DataError(f"benchmark set {name} not found: expected {hr}/<name>.png and "
                        f"{base / name}/LR_bicubic/X{scale}/<name>x{scale}.png")
    lr = base / name / "LR_bicubic" / f"X{scale}"
    if not lr.is_dir():
        if require_lr:
            raise DataError(f"LR folder not found: {lr}")
        lr = None
    return ImageFolderPairs(hr, lr, scale=scale)
