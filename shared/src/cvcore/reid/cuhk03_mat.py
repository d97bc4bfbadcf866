"""The raw CUHK03 release ``cuhk03_release/cuhk-03.mat`` (MATLAB v7.3, i.e. HDF5).

The file holds two cell arrays, ``labeled`` and ``detected``, of 5 camera pairs; each pair is a
``(num_pids, 10)`` cell of images (columns 0-4 seen by the first camera of the pair, 5-9 by the
second; empty cells where a person has fewer images), plus ``testsets``: 20 classic test splits of
100 ``[pair, pid]`` rows (1-based). This module follows the torchreid procedure (reid_common spec
§2.2): images are written once as ``{pair}_{pid:03d}_{view}_{index:02d}.png`` (all 1-based) under
``images_{labeled,detected}/``, the per-person image lists and the classic splits are cached as
JSON beside them, so later loads need neither the 1.6 GB ``.mat`` nor ``h5py``.

Reading the ``.mat`` needs ``h5py`` (``pip install h5py``, or ``pip install cvcore[cuhk03]``),
an optional dependency used only here.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from cvcore.errors import DataError

__all__ = ["RAW_MAT", "extract_cuhk03_mat", "load_cuhk03_meta"]

#: where the raw file lives relative to the dataset root (as in the official release archive).
RAW_MAT = "cuhk03_release/cuhk-03.mat"


def _meta_path(root: Path, kind: str) -> Path:
    return root / f"cuhk03_meta_{kind}.json"


def _splits_path(root: Path) -> Path:
    return root / "cuhk03_splits_classic.json"


def _open_mat(mat_path: Path) -> Any:
    try:
        import h5py
    except ImportError as exc:
        raise DataError(f"reading {mat_path} (MATLAB v7.3 / HDF5) needs h5py: pip install h5py "
                        "(or extract the images elsewhere and use layout='market')") from exc
    try:
        return h5py.File(str(mat_path), "r")
    except OSError as exc:
        raise DataError(f"{mat_path} is not a MATLAB v7.3 (HDF5) file: {exc}") from exc


def extract_cuhk03_mat(root: str | os.PathLike[str], kinds: tuple[str, ...] = ("labeled", "detected"),
                       mat_path: str | os.PathLike[str] | None = None) -> dict[str, Path]:
    """Extract images, per-person lists and the classic splits from ``root/cuhk03_release/cuhk-03.mat``.

    Writes ``root/images_<kind>/*.png`` (existing files are kept, so an interrupted run resumes),
    ``root/cuhk03_meta_<kind>.json`` (``[[pair, pid, [names...]], ...]`` in file order, 1-based)
    and ``root/cuhk03_splits_classic.json`` (20 lists of ``[pair, pid]``). The JSON files are
    written last and atomically, so their presence means the extraction finished.
    Returns ``{kind: images folder}``.
    """
    from cvcore.data.images import write_image
    from cvcore.io import atomic_write_json

    root = Path(root)
    mat_file = Path(mat_path) if mat_path is not None else root / RAW_MAT
    if not mat_file.is_file():
        raise DataError(f"CUHK03: raw file {mat_file} not found (expected <root>/{RAW_MAT})")
    out: dict[str, Path] = {}
    with _open_mat(mat_file) as mat:
        def deref(ref: Any) -> np.ndarray:
            return np.asarray(mat[ref][()]).T  # MATLAB is column-major

        for kind in kinds:
            if kind not in ("labeled", "detected"):
                raise ValueError(f"kind must be 'labeled' or 'detected', got {kind!r}")
            if kind not in mat:
                raise DataError(f"{mat_file}: no '{kind}' cell array; not the CUHK03 release file")
            img_dir = root / f"images_{kind}"
            img_dir.mkdir(parents=True, exist_ok=True)
            meta: list[list[Any]] = []
            for pair, pair_ref in enumerate(np.asarray(mat[kind]).ravel()):
                cells = deref(pair_ref)  # (num_pids, 10) object references
                for pid in range(cells.shape[0]):
                    names = []
                    for index, img_ref in enumerate(cells[pid]):
                        img = deref(img_ref)
                        if img.size == 0 or img.ndim < 3:  # empty cell: fewer than 10 images
                            continue
                        view = 1 if index < 5 else 2
                        name = f"{pair + 1}_{pid + 1:03d}_{view}_{index + 1:02d}.png"
                        if not (img_dir / name).is_file():
                            write_image(img_dir / name, np.ascontiguousarray(img, dtype=np.uint8))
                        names.append(name)
                    meta.append([pair + 1, pid + 1, names])
            atomic_write_json(_meta_path(root, kind), meta)
            out[kind] = img_dir
        if "testsets" not in mat:
            raise DataError(f"{mat_file}: no 'testsets'; not the CUHK03 release file")
        splits = [deref(ref).astype(int).reshape(-1, 2).tolist() for ref in np.asarray(mat["testsets"]).ravel()]
        atomic_write_json(_splits_path(root), splits)
    return out


def load_cuhk03_meta(root: str | os.PathLike[str], kind: str) -> tuple[list[tuple[int, int, list[str]]],
                                                                         list[list[tuple[int, int]]]]:
    """The cached per-person image lists and classic splits, extracting from the raw ``.mat`` if needed.

    Returns ``(meta, splits)``: ``meta`` = ``[(pair, pid, [image names]), ...]`` (1-based),
    ``splits`` = 20 lists of ``(pair, pid)`` test identities.
    """
    root = Path(root)
    if not (_meta_path(root, kind).is_file() and _splits_path(root).is_file()):
        extract_cuhk03_mat(root, kinds=(kind,))
    try:
        meta = [(int(a), int(b), [str(n) for n in names])
                for a, b, names in json.loads(_meta_path(root, kind).read_text())]
        splits = [[(int(a), int(b)) for a, b in s] for s in json.loads(_splits_path(root).read_text())]
    except (ValueError, TypeError) as exc:
        raise DataError(f"CUHK03: cached {_meta_path(root, kind).name} or {_splits_path(root).name} is corrupt "
                        f"({exc}); delete them to extract again") from exc
    return meta, splits
