"""Frame-level ground truth: the official concatenated ``.npy`` files or per-video files."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from cvcore.errors import DataError

__all__ = ["OFFICIAL_LABEL_FILES", "concat_labels", "load_labels"]

#: Label file names of the official repository (``data/``); 1 = abnormal.
OFFICIAL_LABEL_FILES = {
    "ped2": "frame_labels_ped2.npy",  # (1, 2010) int64
    "avenue": "frame_labels_avenue.npy",  # (1, 15324) int8
    "shanghai": "frame_labels_shanghai.npy",  # (40791,) uint8 -- 1-D
}


def _lengths(videos: Sequence) -> list[tuple[str, int]]:
    out = []
    for v in videos:
        if hasattr(v, "name") and hasattr(v, "length"):
            out.append((str(v.name), int(v.length)))
        else:
            name, n = v
            out.append((str(name), int(n)))
    return out


def _as_binary(a: np.ndarray, where: str) -> np.ndarray:
    if a.size and not np.isin(np.unique(a), (0, 1)).all():
        raise DataError(f"{where}: labels must be 0 (normal) / 1 (abnormal), got values {np.unique(a)[:5].tolist()}")
    return a.astype(np.uint8)


def _read_array(p: Path) -> np.ndarray:
    try:
        if p.suffix == ".npy":
            a = np.load(p, allow_pickle=False)
        else:
            a = np.array(p.read_text(encoding="utf-8").split(), dtype=np.int64)  # any whitespace
    except (ValueError, OSError, EOFError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read label file {p}: {exc}") from exc
    a = np.asarray(a)
    if a.ndim == 2 and 1 in a.shape:
        a = a.reshape(-1)  # official Ped2/Avenue files are (1, n); ShanghaiTech's is (n,)
    if a.ndim != 1:
        raise DataError(f"label file {p} has shape {a.shape}: expected (n,) or (1, n)")
    return a


def load_labels(path_or_dir: str | os.PathLike[str], videos: Sequence) -> dict[str, np.ndarray]:
    """Per-video 0/1 frame labels.

    Accepts (a) one ``.npy`` with the labels of all test videos concatenated in sorted video
    order, 1-D or ``(1, n)`` (the official ``frame_labels_*.npy``), or (b) a directory with one
    ``<video>.npy`` or ``<video>.txt`` (whitespace-separated 0/1) per video, e.g. ShanghaiTech's
    ``test_frame_mask/``.

    Args:
        path_or_dir: the file or directory.
        videos: the test videos (``VideoInfo`` objects or ``(name, length)`` pairs), in order.

    Raises:
        DataError: missing file, wrong total length or per-video length, values other than 0/1.
    """
    p = Path(path_or_dir)
    vids = _lengths(videos)
    if p.is_dir():
        out: dict[str, np.ndarray] = {}
        for name, n in vids:
            cand = [p / f"{name}.npy", p / f"{name}.txt"]
            f = next((c for c in cand if c.is_file()), None)
            if f is None:
                raise DataError(f"no labels for video {name!r}: expected {cand[0]} or {cand[1]}")
            a = _as_binary(_read_array(f), str(f))
            if a.size != n:
                raise DataError(f"{f} has {a.size} labels, video {name!r} has {n} frames")
            out[name] = a
        return out
    if not p.is_file():
        raise DataError(
            f"label file not found: {p} (expected an official frame_labels_<dataset>.npy or a folder "
            "of per-video <video>.npy/.txt files)"
        )
    a = _as_binary(_read_array(p), str(p))
    total = sum(n for _, n in vids)
    if a.size != total:
        raise DataError(f"{p} has {a.size} labels but the {len(vids)} test videos have {total} frames")
    out, start = {}, 0
    for name, n in vids:
        out[name] = a[start:start + n]
        start += n
    return out


def concat_labels(labels: Mapping[str, np.ndarray], names: Sequence[str]) -> np.ndarray:
    """Concatenate per-video labels in the order ``names``."""
    missing = [n for n in names if n not in labels]
    if missing:
        raise DataError(f"no labels for video {missing[0]!r}")
    return np.concatenate([np.asarray(labels[n]).reshape(-1) for n in names]) if names else np.zeros(0, np.uint8)
