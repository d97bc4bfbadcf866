"""IDX files (the MNIST / Fashion-MNIST format), plain or gzipped."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np

from cvcore.errors import DataError

__all__ = ["read_idx", "write_idx"]

_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODES = {np.dtype(v).newbyteorder("="): k for k, v in _DTYPES.items()}


def _open(p: Path, mode: str):
    return gzip.open(p, mode) if p.suffix == ".gz" else open(p, mode)


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an IDX file: magic ``0 0 type ndim``, big-endian uint32 dims, then the data."""
    p = Path(path)
    if not p.is_file():
        raise DataError(f"IDX file not found: {p}")
    try:
        with _open(p, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as exc:
        raise DataError(f"cannot read IDX file {p}: {exc}") from exc
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _DTYPES:
        raise DataError(f"{p} is not an IDX file (bad magic number)")
    dtype, ndim = _DTYPES[raw[2]], raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"IDX file {p} is truncated (header)")
    dims = tuple(int(d) for d in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    count = int(np.prod(dims)) if dims else 1
    if len(raw) < header + count * dtype.itemsize:
        raise DataError(f"IDX file {p} is truncated: expected {count} values of shape {dims}")
    data = np.frombuffer(raw, dtype, count=count, offset=header).reshape(dims)
    return data.astype(dtype.newbyteorder("="))


def write_idx(path: str | os.PathLike[str], array: np.ndarray) -> Path:
    """Write ``array`` as IDX (gzipped if the name ends in ``.gz``)."""
    arr = np.asarray(array)
    code = _CODES.get(arr.dtype.newbyteorder("="))
    if code is None:
        raise ValueError(f"IDX cannot store dtype {arr.dtype}")
    big = arr.astype(_DTYPES[code], copy=False)
    header = bytes([0, 0, code, arr.ndim]) + np.asarray(arr.shape, ">u4").tobytes()
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    with _open(p, "wb") as f:
        f.write(header + big.tobytes())
    return p
