"""Reading a user's LiDAR scan for ``hvpr detect``: KITTI ``.bin`` (float32 x y z r) or ``.npy`` (N, ≥4)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cvcore.errors import DataError

SCAN_SUFFIXES = (".bin", ".npy")


def read_scan(path: str | Path) -> np.ndarray:
    """(N, 4) float32 (x, y, z, reflectance) of a ``.bin`` or ``.npy`` scan, validated.

    Raises:
        DataError: missing file, unknown suffix, a ``.bin`` whose size is not a multiple of 4 float32 values,
            an ``.npy`` that is not a numeric (N, ≥4) array, or non-finite values.
    """
    p = Path(path)
    if not p.is_file():
        raise DataError(f"scan not found: {p} (expected a KITTI .bin of float32 x y z r, or an (N, 4) .npy)")
    if p.suffix == ".bin":
        size = p.stat().st_size
        if size % 16:
            raise DataError(f"{p}: {size} bytes is not a whole number of points (4 float32 values = 16 bytes "
                            "per point: x y z reflectance)")
        pts = np.fromfile(p, dtype="<f4").reshape(-1, 4)
    elif p.suffix == ".npy":
        try:
            arr = np.load(p, allow_pickle=False)
        except (ValueError, OSError) as exc:
            raise DataError(f"{p}: not a readable .npy array ({str(exc).splitlines()[0]})") from exc
        if arr.ndim != 2 or arr.shape[1] < 4 or not np.issubdtype(arr.dtype, np.number):
            raise DataError(f"{p}: expected a numeric (N, 4) array of x y z reflectance, got {arr.dtype} "
                            f"{tuple(arr.shape)}")
        pts = arr[:, :4].astype(np.float32)
    else:
        raise DataError(f"{p}: unknown scan format {p.suffix!r} (use .bin or .npy)")
    if not np.isfinite(pts).all():
        raise DataError(f"{p}: the scan contains NaN or infinite values")
    return np.ascontiguousarray(pts)


def list_scans(inputs: list[str | Path]) -> list[Path]:
    """Expand files and folders (their ``.bin``/``.npy`` files, sorted) into a list of scan paths."""
    out: list[Path] = []
    for x in inputs:
        p = Path(x)
        if p.is_dir():
            found = sorted(q for q in p.iterdir() if q.suffix in SCAN_SUFFIXES)
            if not found:
                raise DataError(f"{p}: folder holds no .bin or .npy scans")
            out += found
        else:
            out.append(p)
    return out
