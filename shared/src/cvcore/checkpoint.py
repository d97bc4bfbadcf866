"""Checkpoints with metadata, written atomically and read with ``weights_only=True``.

A checkpoint is a dict::

    {"format": "cvcore-checkpoint", "format_version": 1,
     "package": "ewgs", "version": "0.1.0", "config": {...},
     "epoch": 3, "step": 1200, "model": state_dict,
     "optimizer": ..., "scheduler": ..., "scaler": ..., "rng": {...}, "extra": {...}}

Resuming (:func:`restore`) puts back weights, optimizer, scheduler and every RNG, so an
interrupted and resumed run gives the same weights as an uninterrupted one.

Example::

    save_checkpoint("run/last.pt", package="ewgs", version=ewgs.__version__,
                    model=model, optimizer=opt, epoch=epoch, config=cfg)
    ckpt = load_checkpoint("run/last.pt", package="ewgs", version=ewgs.__version__)
    restore(ckpt, model=model, optimizer=opt)
"""

from __future__ import annotations

import dataclasses
import os
import pickle
import random
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from cvcore.config import config_to_dict
from cvcore.errors import CheckpointError
from cvcore.io import atomic_write_with

FORMAT = "cvcore-checkpoint"
FORMAT_VERSION = 1

__all__ = [
    "FORMAT",
    "read_foreign_state_dict",
    "capture_rng",
    "is_compatible",
    "load_checkpoint",
    "restore",
    "restore_rng",
    "save_checkpoint",
    "unwrap_model",
]


def unwrap_model(model: torch.nn.Module) -> torch.nn.Module:
    """Strip DistributedDataParallel / DataParallel wrappers."""
    return model.module if hasattr(model, "module") and isinstance(model.module, torch.nn.Module) else model


def capture_rng() -> dict[str, Any]:
    """The state of Python's, NumPy's and torch's (CPU and CUDA) generators, as tensors/ints."""
    np_state = np.random.get_state()
    py_version, py_internal, py_gauss = random.getstate()
    state: dict[str, Any] = {
        "python": [py_version, list(py_internal), py_gauss],
        "numpy": {
            "name": np_state[0],
            "keys": torch.from_numpy(np_state[1].astype(np.int64)),
            "pos": int(np_state[2]),
            "has_gauss": int(np_state[3]),
            "cached_gaussian": float(np_state[4]),
        },
        "torch": torch.random.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: Mapping[str, Any]) -> None:
    """Inverse of :func:`capture_rng`."""
    py = state["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))
    n = state["numpy"]
    np.random.set_state(
        (n["name"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached_gaussian"])
    )
    torch.random.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def is_compatible(saved: str, current: str) -> bool:
    """SemVer compatibility: same major (>=1), or same major.minor while 0.x."""
    try:
        s = [int(x) for x in saved.split("+")[0].split(".")[:2]]
        c = [int(x) for x in current.split("+")[0].split(".")[:2]]
    except ValueError:
        return False
    if len(s) < 2 or len(c) < 2:
        return False
    return s[0] == c[0] and (s[0] >= 1 or s[1] == c[1])


def _state(obj: Any) -> Any:
    if obj is None:
        return None
    if isinstance(obj, torch.nn.Module):
        return unwrap_model(obj).state_dict()
    if hasattr(obj, "state_dict"):
        return obj.state_dict()
    return obj


def save_checkpoint(
    path: str | os.PathLike[str],
    *,
    package: str,
    version: str,
    model: torch.nn.Module | Mapping[str, torch.Tensor],
    optimizer: Any = None,
    scheduler: Any = None,
    scaler: Any = None,
    config: Any = None,
    epoch: int = 0,
    step: int = 0,
    extra: Mapping[str, Any] | None = None,
    save_rng: bool = True,
) -> Path:
    """Save atomically (temp file in the same folder, flush, fsync, ``os.replace``)."""
    if config is not None and dataclasses.is_dataclass(config):
        config = config_to_dict(config)
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "package": package,
        "version": version,
        "config": config,
        "epoch": int(epoch),
        "step": int(step),
        "model": _state(model),
        "optimizer": _state(optimizer),
        "scheduler": _state(scheduler),
        "scaler": _state(scaler),
        "rng": capture_rng() if save_rng else None,
        "extra": dict(extra) if extra else {},
    }
    return atomic_write_with(path, lambda f: torch.save(payload, f))


def _read(path: Path, map_location: Any, weights_only: bool) -> Any:
    try:
        return torch.load(path, map_location=map_location, weights_only=weights_only)
    except (EOFError, zipfile.BadZipFile, pickle.UnpicklingError, RuntimeError, ValueError, OSError) as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if weights_only and "Unsupported global" in str(exc):
            raise CheckpointError(
                f"checkpoint {path} contains objects other than tensors and plain data; "
                "if you trust its source, load it with weights_only=False"
            ) from exc
        raise CheckpointError(f"checkpoint {path} is truncated or not a torch checkpoint ({msg})") from exc


def load_checkpoint(
    path: str | os.PathLike[str],
    *,
    package: str | None = None,
    version: str | None = None,
    map_location: Any = "cpu",
    weights_only: bool = True,
    strict_version: bool = True,
) -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint` and check where it comes from.

    Raises:
        CheckpointError: missing file, truncated/corrupt file, not a cvcore checkpoint, written
            by another package, or by an incompatible version of this one.
    """
    p = Path(path)
    if not p.is_file():
        raise CheckpointError(f"checkpoint not found: {p}")
    ckpt = _read(p, map_location, weights_only)
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise CheckpointError(
            f"{p} is not a cvcore checkpoint (no 'format': '{FORMAT}' entry); "
            "for the authors' published weights use the package's load_official_checkpoint"
        )
    if ckpt.get("format_version", 0) > FORMAT_VERSION:
        raise CheckpointError(f"{p} uses checkpoint format {ckpt['format_version']}, newer than this cvcore")
    if package is not None and ckpt.get("package") != package:
        raise CheckpointError(f"{p} was written by package '{ckpt.get('package')}', not '{package}'")
    if version is not None and strict_version and not is_compatible(str(ckpt.get("version")), version):
        raise CheckpointError(
            f"{p} was written by {ckpt.get('package')} {ckpt.get('version')}, "
            f"which is incompatible with the installed {version}"
        )
    return ckpt


def restore(
    ckpt: Mapping[str, Any],
    *,
    model: torch.nn.Module | None = None,
    optimizer: Any = None,
    scheduler: Any = None,
    scaler: Any = None,
    rng: bool = True,
    strict: bool = True,
) -> None:
    """Load every saved state into the given objects (for ``--resume``)."""
    if model is not None:
        try:
            unwrap_model(model).load_state_dict(ckpt["model"], strict=strict)
        except RuntimeError as exc:
            raise CheckpointError(f"checkpoint does not fit this model: {str(exc).splitlines()[0]}") from exc
    for name, obj in (("optimizer", optimizer), ("scheduler", scheduler), ("scaler", scaler)):
        if obj is None:
            continue
        if ckpt.get(name) is None:
            raise CheckpointError(f"checkpoint has no {name} state to resume from")
        obj.load_state_dict(ckpt[name])
    if rng and ckpt.get("rng") is not None:
        restore_rng(ckpt["rng"])


# ----------------------------------------------------------------- foreign files
_SAFE_MODULES = ("torch", "collections", "builtins", "copyreg", "_codecs", "numpy", "__builtin__")


class _ForeignModule(torch.nn.Module):
    """Stands in for a class of someone else's code while unpickling: holds its tensors, runs nothing."""

    def forward(self, *args: Any, **kwargs: Any) -> Any:  # pragma: no cover - never called
        raise RuntimeError("stand-in for a class of the checkpoint's original code: only its tensors are used")


class _ForeignUnpickler(pickle.Unpickler):
    """Resolves torch / numpy / standard-library globals; every other class becomes a
    :class:`_ForeignModule` subclass of the same name (so the authors' code is not needed)."""

    _stand_ins: dict[tuple[str, str], type] = {}

    def find_class(self, module: str, name: str) -> Any:
        if module.split(".")[0] in _SAFE_MODULES:
            return super().find_class(module, name)
        key = (module, name)
        if key not in self._stand_ins:
            self._stand_ins[key] = type(name, (_ForeignModule,), {"__module__": "cvcore.checkpoint._foreign"})
        return self._stand_ins[key]


class _foreign_pickle:  # noqa: N801 - a "pickle module" for torch.load(pickle_module=...)
    Unpickler = _ForeignUnpickler
    __name__ = "cvcore_foreign_pickle"

    @staticmethod
    def load(f: Any, **kw: Any) -> Any:
        return _ForeignUnpickler(f, **kw).load()


def _tensors_of(obj: Any) -> dict[str, torch.Tensor] | None:
    if isinstance(obj, torch.nn.Module):
        return dict(obj.state_dict())
    if isinstance(obj, Mapping):
        for key in ("state_dict", "model_state_dict", "model"):
            if key in obj and isinstance(obj[key], (Mapping, torch.nn.Module)):
                found = _tensors_of(obj[key])
                if found:
                    return found
        tensors = {k: v for k, v in obj.items() if isinstance(k, str) and isinstance(v, torch.Tensor)}
        return tensors or None
    return None


def read_foreign_state_dict(
    path: str | os.PathLike[str], *, trust_pickle: bool = False, map_location: Any = "cpu", strip_module: bool = True
) -> dict[str, torch.Tensor]:
    """The tensors of a checkpoint written by other code (the authors' released files).

    Reads a plain state dict, a dict holding one under ``state_dict`` / ``model_state_dict`` /
    ``model``, or a whole pickled ``nn.Module``. Plain files are read with ``weights_only=True``;
    a pickled module needs ``trust_pickle=True`` (unpickling can run code from the file) and is
    read with stand-ins for its classes, so the original code need not be installed.
    ``module.`` prefixes (DataParallel) are stripped unless ``strip_module=False``.

    Raises:
        CheckpointError: missing, truncated or not a torch file; a pickled module without
            ``trust_pickle``; no tensors inside.
    """
    p = Path(path)
    if not p.is_file():
        raise CheckpointError(f"checkpoint not found: {p}")
    try:
        obj = torch.load(p, map_location=map_location, weights_only=True)
    except Exception as exc:  # noqa: BLE001 - torch raises many kinds for bad files
        text = str(exc)
        if "Unsupported global" not in text and "weights_only" not in text.lower():
            raise CheckpointError(f"{p} is truncated or not a torch checkpoint ({text.splitlines()[0] if text else type(exc).__name__})") from exc
        if not trust_pickle:
            raise CheckpointError(
                f"{p} is a pickled model; unpickling can run code from the file. Load it only if you "
                "trust its source (trust_pickle=True)"
            ) from exc
        try:
            obj = torch.load(p, map_location=map_location, weights_only=False, pickle_module=_foreign_pickle)
        except Exception as exc2:  # noqa: BLE001
            raise CheckpointError(f"cannot unpickle {p}: {str(exc2).splitlines()[0] if str(exc2) else exc2!r}") from exc2
    tensors = _tensors_of(obj)
    if not tensors:
        raise CheckpointError(f"{p} holds no model tensors")
    if strip_module:
        tensors = {k[len("module."):] if k.startswith("module.") else k: v for k, v in tensors.items()}
    return tensors
