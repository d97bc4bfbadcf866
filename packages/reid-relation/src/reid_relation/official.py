"""Loading the authors' released checkpoint (a pickled two-GPU ``DataParallel`` model).

The file is ``torch.save(model)`` of ``DataParallel(RelationModel)`` from PyTorch 0.4.1, so it
unpickles only where the modules ``Relation_final_ver_last_multi_scale_large_losses`` and
``resnet`` exist. :func:`load_official_checkpoint` unpickles it with shim classes for every
module that is not importable, collects the parameters and buffers by walking ``_modules``,
strips ``module.`` and renames the official keys to this package's modules.
"""

from __future__ import annotations

import os
import pickle
import re
import zipfile
from collections import OrderedDict
from pathlib import Path
from typing import Any

import torch

from cvcore.errors import CheckpointError

__all__ = ["load_official_checkpoint", "official_to_ours", "ours_to_official"]

_KINDS = ("local_rest", "local", "rest", "global_max", "global_rest", "global")


def official_to_ours(key: str) -> str:
    """``local_6_conv_list.0.0.weight`` → ``relation.6.local.0.0.weight`` etc.; ``base.*`` unchanged."""
    k = key[7:] if key.startswith("module.") else key
    rules = [
        (r"^local_(\d+)_conv_list\.(\d+)\.", r"relation.\1.local.\2."),
        (r"^rest_(\d+)_conv_list\.(\d+)\.", r"relation.\1.rest.\2."),
        (r"^relation_(\d+)_conv_list\.(\d+)\.", r"relation.\1.fuse.\2."),
        (r"^global_(\d+)_max_conv_list\.0\.", r"gcp.\1.max_emb."),
        (r"^global_(\d+)_rest_conv_list\.0\.", r"gcp.\1.cont_emb."),
        (r"^global_(\d+)_pooling_conv_list\.0\.", r"gcp.\1.fuse."),
    ]
    for pat, rep in rules:
        if re.match(pat, k):
            return re.sub(pat, rep, k)
    m = re.match(r"^fc_(local_rest|local|rest|global_max|global_rest|global)_(\d+)_list\.(\d+)\.(.*)$", k)
    if m:
        return f"heads.{m.group(1)}_{m.group(2)}.{m.group(3)}.{m.group(4)}"
    return k


def ours_to_official(key: str) -> str:
    """Inverse of :func:`official_to_ours` (used to write checkpoints in the official layout)."""
    rules = [
        (r"^relation\.(\d+)\.local\.(\d+)\.", r"local_\1_conv_list.\2."),
        (r"^relation\.(\d+)\.rest\.(\d+)\.", r"rest_\1_conv_list.\2."),
        (r"^relation\.(\d+)\.fuse\.(\d+)\.", r"relation_\1_conv_list.\2."),
        (r"^gcp\.(\d+)\.max_emb\.", r"global_\1_max_conv_list.0."),
        (r"^gcp\.(\d+)\.cont_emb\.", r"global_\1_rest_conv_list.0."),
        (r"^gcp\.(\d+)\.fuse\.", r"global_\1_pooling_conv_list.0."),
        (r"^heads\.([a-z_]+)_(\d+)\.(\d+)\.", r"fc_\1_\2_list.\3."),
    ]
    for pat, rep in rules:
        if re.match(pat, key):
            return re.sub(pat, rep, key)
    return key


class _Shim:
    """Stands in for any class whose module cannot be imported; keeps the pickled state."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __setstate__(self, state: Any) -> None:
        if isinstance(state, dict):
            self.__dict__.update(state)
        else:
            self.__dict__["_state"] = state


class _ShimUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        try:
            return super().find_class(module, name)
        except (ImportError, AttributeError):
            return type(name, (_Shim,), {"__module__": "reid_relation.official._shims"})


class _ShimPickle:
    """A ``pickle_module`` for ``torch.load`` that substitutes shims for missing classes."""

    Unpickler = _ShimUnpickler
    load = staticmethod(pickle.load)
    __name__ = "reid_relation_shim_pickle"


def _collect(obj: Any, prefix: str, out: "OrderedDict[str, torch.Tensor]") -> None:
    d = getattr(obj, "__dict__", {})
    for kind in ("_parameters", "_buffers"):
        for name, t in (d.get(kind) or {}).items():
            if t is not None:
                out[prefix + name] = t.detach() if isinstance(t, torch.Tensor) else t
    for name, child in (d.get("_modules") or {}).items():
        if child is not None:
            _collect(child, f"{prefix}{name}.", out)


def load_official_checkpoint(path: str | os.PathLike[str]) -> dict[str, torch.Tensor]:
    """Read the released model file (whole pickled model, or a plain state dict) and return a
    state dict for :class:`reid_relation.RelationNet` (``module.`` stripped, keys renamed).

    Only open files from a source you trust: a pickled model can run code when unpickled.

    Raises:
        CheckpointError: missing, truncated or not a RelationModel checkpoint.
    """
    p = Path(path)
    if not p.is_file():
        raise CheckpointError(f"official checkpoint not found: {p}")
    try:
        obj = torch.load(p, map_location="cpu", weights_only=False, pickle_module=_ShimPickle)
    except (EOFError, zipfile.BadZipFile, pickle.UnpicklingError, RuntimeError, ValueError, OSError,
            AttributeError, TypeError) as exc:
        raise CheckpointError(f"{p} is truncated or not a torch checkpoint ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})") from exc
    if isinstance(obj, dict) and "state_dict" in obj and isinstance(obj["state_dict"], dict):
        obj = obj["state_dict"]
    if isinstance(obj, dict):
        raw = OrderedDict((k, v) for k, v in obj.items() if isinstance(v, torch.Tensor))
    else:
        raw = OrderedDict()
        _collect(obj, "", raw)
    sd = OrderedDict((official_to_ours(k), v) for k, v in raw.items())
    if not any(k.startswith("relation.") for k in sd) or not any(k.startswith("base.") for k in sd):
        raise CheckpointError(f"{p} does not look like an RRID RelationModel checkpoint "
                              "(no base.* / local_6_conv_list.* parameters)")
    return dict(sd)


def num_classes_of(state_dict: dict[str, torch.Tensor]) -> int:
    """Classifier size of a converted state dict (0 when it has no classifiers)."""
    w = state_dict.get("heads.global_6.0.weight")
    return 0 if w is None else int(w.shape[0])
