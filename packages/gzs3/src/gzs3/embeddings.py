"""Class-embedding tables (word vectors ``s_c``) and embedding class names (spec E1, §3.7, §8).

Official files: ``norm_embed_arr_300_airplane.pkl`` is a ``torch.save``d tensor despite its
suffix; ``norm_embed_arr_300.pkl`` and the SPNet/CaGNet tables are NumPy pickles (read with
``encoding="latin-1"``); ``pascalcontext_class_w2c.npy`` is a plain ``.npy``. :func:`load_table`
detects the format from the file's first bytes, not its suffix.
"""

from __future__ import annotations

import io
import os
import pickle
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch

from cvcore.errors import DataError

__all__ = ["embed_names", "load_table", "normalize_table", "read_word_vectors", "split_name", "words_needed"]

Normalize = Literal["max", "l2"] | None

_ZIP_MAGIC = b"PK\x03\x04"
_NPY_MAGIC = b"\x93NUMPY"
# NumPy objects a table pickle may contain; anything else is refused (no arbitrary code).
_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("_codecs", "encode"),  # bytes in protocol-2 pickles
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
}


class _TableUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from an embedding pickle")


def normalize_table(table: torch.Tensor, mode: Normalize = "max") -> torch.Tensor:
    """Scale a ``(K, d_s)`` table.

    ``"max"`` (E1): divide every row by the largest row norm (one global scale, relative norms
    kept); ``"l2"``: every row to unit norm; ``None``: unchanged. All-zero tables/rows are left
    as they are.
    """
    if mode is None:
        return table
    norms = table.norm(dim=1, keepdim=True)
    if mode == "max":
        m = norms.max() if norms.numel() else torch.tensor(0.0)
        return table / m if float(m) > 0 else table
    if mode == "l2":
        return table / torch.where(norms > 0, norms, torch.ones_like(norms))
    raise ValueError(f"unknown normalisation {mode!r}: use 'max', 'l2' or None")


def _to_tensor(obj: Any, path: Path) -> torch.Tensor:
    if isinstance(obj, Mapping):
        for key in ("embeddings", "table", "weight"):
            if key in obj:
                obj = obj[key]
                break
    try:
        t = torch.as_tensor(np.asarray(obj) if not isinstance(obj, torch.Tensor) else obj)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{path}: not a numeric class-embedding table ({exc})") from exc
    if t.ndim != 2 or t.shape[0] == 0 or not (t.is_floating_point() or t.dtype in (torch.int32, torch.int64)):
        raise DataError(f"{path}: expected a (num_classes, dim) numeric table, got shape {tuple(t.shape)}")
    t = t.to(torch.float32)
    if not torch.isfinite(t).all():
        raise DataError(f"{path}: the class-embedding table contains NaN or infinite values")
    return t


def load_table(path: str | os.PathLike[str], normalize: Normalize = "max") -> torch.Tensor:
    """Read a class-embedding table from ``.pkl`` (pickle or torch zip), ``.npy`` or ``.pt``.

    Args:
        path: the file.
        normalize: see :func:`normalize_table`; ``"max"`` implements E1 and leaves the already
            scaled official VOC table unchanged.

    Returns:
        float32 tensor ``(num_classes, d_s)``.

    Raises:
        DataError: missing, truncated or non-table file.
    """
    p = Path(path)
    if not p.is_file():
        raise DataError(f"class-embedding file not found: {p}")
    raw = p.read_bytes()
    try:
        if raw.startswith(_ZIP_MAGIC):
            obj = torch.load(io.BytesIO(raw), map_location="cpu", weights_only=True)
        elif raw.startswith(_NPY_MAGIC):
            obj = np.load(io.BytesIO(raw), allow_pickle=False)
        else:
            obj = _TableUnpickler(io.BytesIO(raw), encoding="latin-1").load()
    except DataError:
        raise
    except Exception as exc:  # noqa: BLE001 - any parse failure is a bad file
        raise DataError(f"cannot read class-embedding table {p}: truncated or unknown format ({exc})") from exc
    return normalize_table(_to_tensor(obj, p), normalize)


def split_name(name: str) -> list[str]:
    """Words of a class name: ``"potted plant"``, ``"potted_plant"``, ``"potted-plant"`` → 2 words."""
    return [w for w in re.split(r"[\s_\-/]+", name.strip()) if w]


def embed_names(
    names: Sequence[str],
    word_vectors: Mapping[str, Any],
    combine: Literal["mean", "sum"] = "mean",
    normalize: Normalize = None,
    phrases: bool = False,
) -> torch.Tensor:
    """Embed class names with a word-vector mapping (word → ``(d_s,)`` vector).

    As the spec has it (§8: "averaging the vectors of a name's words"), a name is split into words
    (:func:`split_name`: spaces, ``_``, ``-``, ``/``) and their vectors are averaged
    (``combine="mean"``) or summed; a one-word name is its word's vector. Each word is looked up
    as written, then lower-cased. With ``phrases=True`` a name present as a whole key (as written,
    or with spaces → ``_`` as in GoogleNews' ``potted_plant``) uses that phrase vector instead.

    Returns:
        float32 ``(len(names), d_s)``.

    Raises:
        KeyError: some words are missing; the message names every one of them.
    """
    rows: list[torch.Tensor] = []
    missing: list[str] = []
    for name in names:
        if phrases:
            key = next((c for c in dict.fromkeys((name, name.strip(), name.strip().replace(" ", "_")))
                        if c in word_vectors), None)
            if key is not None:
                rows.append(torch.as_tensor(np.asarray(word_vectors[key]), dtype=torch.float32))
                continue
        words = split_name(name)
        vecs = []
        for w in words:
            v = word_vectors.get(w, word_vectors.get(w.lower()))
            if v is None:
                missing.append(w)
            else:
                vecs.append(torch.as_tensor(np.asarray(v), dtype=torch.float32))
        if not words:
            missing.append(repr(name))
        if vecs and len(vecs) == len(words):
            stacked = torch.stack(vecs)
            rows.append(stacked.mean(0) if combine == "mean" else stacked.sum(0))
    if missing:
        raise KeyError(f"no word vector for: {', '.join(dict.fromkeys(missing))}")
    if not rows:
        raise ValueError("embed_names needs at least one name")
    dims = {r.shape for r in rows}
    if len(dims) != 1:
        raise ValueError(f"word vectors of different sizes: {sorted(dims)}")
    return normalize_table(torch.stack(rows), normalize)


def words_needed(names: Sequence[str], phrases: bool = False) -> set[str]:
    """Every key :func:`embed_names` may look up for ``names`` (to read only those from a big file)."""
    out: set[str] = set()
    for name in names:
        if phrases:
            out |= {name, name.strip(), name.strip().replace(" ", "_")}
        for w in split_name(name):
            out |= {w, w.lower()}
    return out


_BIN_CHUNK = 1 << 22


def _read_word2vec_binary(p: Path, words: set[str] | None) -> dict[str, np.ndarray]:
    """word2vec binary: header ``"V D\\n"``, then V entries ``word`` + ``" "`` + D little-endian
    float32 (the C tool adds a ``"\\n"`` after each vector; leading newlines of a word are skipped)."""
    out: dict[str, np.ndarray] = {}
    with p.open("rb") as f:
        header = f.readline()
        try:
            n, dim = (int(x) for x in header.split())
        except ValueError:
            raise DataError(f"{p}: a binary word2vec file starts with '<vocabulary size> <dimension>', "
                            f"got {header[:40]!r}") from None
        if n < 1 or dim < 1:
            raise DataError(f"{p}: header says {n} words of dimension {dim}")
        nbytes = 4 * dim
        buf = b""
        pos = 0
        for i in range(n):
            while True:
                sp = buf.find(b" ", pos)
                if sp != -1 and len(buf) - sp - 1 >= nbytes:
                    break
                more = f.read(_BIN_CHUNK)
                if not more:
                    raise DataError(f"{p}: truncated after {i} of {n} words (a vector needs {nbytes} bytes)")
                buf, pos = buf[pos:] + more, 0
            word = buf[pos:sp].lstrip(b"\n\r").decode("utf-8", errors="replace")
            if words is None or word in words:
                out[word] = np.frombuffer(buf, dtype="<f4", count=dim, offset=sp + 1).copy()
            pos = sp + 1 + nbytes
    return out


def _looks_binary(p: Path) -> bool:
    with p.open("rb") as f:
        f.readline()
        sample = f.read(4096)
    return any(b < 9 or 13 < b < 32 for b in sample)


def read_word_vectors(path: str | os.PathLike[str], vocab: Sequence[str] | None = None,
                      words: set[str] | None = None, binary: bool | None = None) -> dict[str, np.ndarray]:
    """Read word vectors: word2vec binary (``GoogleNews-vectors-negative300.bin``: ``"V D\\n"`` then
    per word ``"word "`` + D float32 little-endian), word2vec text (``word v1 v2 ...`` lines,
    optional ``n d`` header), a ``.npy`` matrix with ``vocab`` (one word per row), or a torch
    ``{word: vector}`` dict.

    Args:
        words: keep only these words (:func:`words_needed`); the 3.6 GB GoogleNews file is then
            streamed without holding its 3 M vectors.
        binary: force the word2vec binary/text reading; None = ``.bin`` suffix or non-text bytes
            after the first line.

    Raises:
        DataError: missing or malformed file.
    """
    p = Path(path)
    if not p.is_file():
        raise DataError(f"word-vector file not found: {p}")
    if binary is None and p.suffix not in (".npy", ".pt", ".pth"):
        binary = p.suffix == ".bin" or _looks_binary(p)
    if binary:
        out_bin = _read_word2vec_binary(p, words)
        if not out_bin and words is None:
            raise DataError(f"{p}: no word vectors found")
        return out_bin
    if p.suffix == ".npy":
        if vocab is None:
            raise DataError(f"{p}: a .npy word-vector matrix needs a vocabulary (one word per row)")
        mat = np.load(p, allow_pickle=False)
        if mat.ndim != 2 or mat.shape[0] != len(vocab):
            raise DataError(f"{p}: matrix {mat.shape} does not match a vocabulary of {len(vocab)} words")
        return {w: mat[i] for i, w in enumerate(vocab) if words is None or w in words}
    raw = p.read_bytes()
    if raw.startswith(_ZIP_MAGIC):
        obj = torch.load(io.BytesIO(raw), map_location="cpu", weights_only=True)
        if not isinstance(obj, Mapping):
            raise DataError(f"{p}: expected a {{word: vector}} mapping")
        return {str(k): np.asarray(v, dtype=np.float32) for k, v in obj.items() if words is None or str(k) in words}
    out: dict[str, np.ndarray] = {}
    dim = None
    for i, line in enumerate(raw.decode("utf-8", errors="replace").splitlines()):
        parts = line.rstrip().split(" ")
        if i == 0 and len(parts) == 2 and all(x.isdigit() for x in parts):
            continue
        if len(parts) < 2:
            continue
        try:
            vec = np.asarray([float(x) for x in parts[1:]], dtype=np.float32)
        except ValueError as exc:
            raise DataError(f"{p}:{i + 1}: not a word2vec text line ({exc})") from exc
        if dim is None:
            dim = vec.size
        elif vec.size != dim:
            raise DataError(f"{p}:{i + 1}: vector of size {vec.size}, expected {dim}")
        if words is None or parts[0] in words:
            out[parts[0]] = vec
    if not out and words is None:
        raise DataError(f"{p}: no word vectors found")
    return out
