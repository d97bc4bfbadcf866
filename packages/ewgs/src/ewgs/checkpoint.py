"""Official EWGS checkpoints → this package's modules, and the package's own checkpoints.

Official layouts (``cvlab-yonsei/EWGS``):

- CIFAR (``CIFAR10/train_quant.py``): ``{"epoch", "model": state_dict, "optimizer_m", "scheduler_m",
  "optimizer_q", "scheduler_q", "criterion"}``; keys ``layer1.0.conv1.weight``, ``…conv1.uW``, ...
- ImageNet (``ImageNet_train_quant.py``): ``{"epoch", "arch", "state_dict", "best_acc1", "optimizer"}``
  with a ``module.`` prefix (DistributedDataParallel) on every key.
- A bare state dict is accepted too.

Per quantized conv the official names map as ``uW → w_upper``, ``lW → w_lower``, ``uA → a_upper``,
``lA → a_lower``, ``output_scale → scale``, ``bkwd_scaling_factorW → delta_w``,
``bkwd_scaling_factorA → delta_a`` and ``init`` (1 = "initialize at the next forward") →
``initialized = (init == 0)``. The official code stores **levels** (``--weight_levels 2`` = 1 bit)
only on its command line, never in the checkpoint: pass ``weight_levels``/``act_levels`` to check
them against the model's bits.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from cvcore.checkpoint import FORMAT
from cvcore.errors import CheckpointError
from ewgs.quant.layers import EWGSLayer

__all__ = [
    "OFFICIAL_NAMES",
    "convert_official_state_dict",
    "levels_to_bits",
    "load_official_checkpoint",
    "read_checkpoint_file",
    "to_official_state_dict",
]

#: official parameter/buffer name → this package's name.
OFFICIAL_NAMES = {
    "uW": "w_upper", "lW": "w_lower", "uA": "a_upper", "lA": "a_lower", "output_scale": "scale",
    "bkwd_scaling_factorW": "delta_w", "bkwd_scaling_factorA": "delta_a", "init": "initialized",
}
_OURS_TO_OFFICIAL = {v: k for k, v in OFFICIAL_NAMES.items()}
_SCALARS = {"w_upper", "w_lower", "a_upper", "a_lower", "scale", "delta_w", "delta_a"}


def levels_to_bits(levels: int) -> int:
    """Official ``--weight_levels``/``--act_levels`` (2, 4, 8, 16, ...) → bits (1, 2, 3, 4, ...)."""
    if not isinstance(levels, int) or levels < 2 or levels & (levels - 1):
        raise CheckpointError(f"levels must be a power of two >= 2 (2 = 1 bit), got {levels!r}")
    return int(math.log2(levels))


def read_checkpoint_file(path: str | os.PathLike[str], *, trusted: bool = False) -> Any:
    """``torch.load`` with ``weights_only=True`` (``CrossEntropyLoss`` objects allowed, as the
    official CIFAR checkpoints pickle the criterion); clear :class:`CheckpointError` otherwise."""
    import pickle
    import zipfile

    p = Path(path)
    if not p.is_file():
        raise CheckpointError(f"checkpoint not found: {p}")
    try:
        if trusted:
            return torch.load(p, map_location="cpu", weights_only=False)
        with torch.serialization.safe_globals([nn.CrossEntropyLoss]):
            return torch.load(p, map_location="cpu", weights_only=True)
    except (EOFError, zipfile.BadZipFile, pickle.UnpicklingError, RuntimeError, ValueError, OSError) as exc:
        msg = (str(exc).splitlines() or [type(exc).__name__])[0]
        if "Unsupported global" in str(exc) or "weights_only" in str(exc):
            raise CheckpointError(f"{p} contains Python objects besides tensors; if you trust it, pass trusted=True "
                                  f"({msg[:120]})") from exc
        raise CheckpointError(f"{p} is truncated or not a torch checkpoint ({msg[:160]})") from exc


def _extract_state_dict(obj: Any, path: Path) -> dict[str, torch.Tensor]:
    if isinstance(obj, Mapping) and obj.get("format") == FORMAT:
        if obj.get("package") != "ewgs":
            raise CheckpointError(f"{path} was written by package '{obj.get('package')}', not 'ewgs'")
        return dict(obj["model"])
    if isinstance(obj, Mapping):
        for key in ("model", "state_dict"):
            if key in obj and isinstance(obj[key], Mapping):
                return dict(obj[key])
        if obj and all(isinstance(k, str) and torch.is_tensor(v) for k, v in obj.items()):
            return dict(obj)
    raise CheckpointError(f"{path} is not an EWGS checkpoint: expected a 'model' or 'state_dict' entry "
                          "(official CIFAR / ImageNet layouts) or a state dict")


def convert_official_state_dict(sd: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename official keys (and strip ``module.``), reshape scalars to 0-dim, map ``init``."""
    out: dict[str, torch.Tensor] = {}
    for key, value in sd.items():
        k = key[len("module."):] if key.startswith("module.") else key
        prefix, _, leaf = k.rpartition(".")
        if leaf in OFFICIAL_NAMES:
            new_leaf = OFFICIAL_NAMES[leaf]
            k = f"{prefix}.{new_leaf}" if prefix else new_leaf
            if new_leaf == "initialized":
                value = (value.reshape(-1)[0] == 0) if value.numel() else torch.tensor(False)
            elif new_leaf in _SCALARS:
                value = value.reshape(()).float()
        out[k] = value
    # an official layer whose bounds were never initialized (all zero) must re-initialize
    for k in [k for k in out if k.endswith(".initialized")]:
        base = k[: -len("initialized")]
        for lo, hi in (("w_lower", "w_upper"), ("a_lower", "a_upper")):
            if base + lo in out and base + hi in out and float(out[base + hi]) == float(out[base + lo]):
                out[k] = torch.tensor(False)
    return out


def to_official_state_dict(sd: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The inverse mapping (for exporting to the official code): ``initialized → init``."""
    out: dict[str, torch.Tensor] = {}
    for key, value in sd.items():
        prefix, _, leaf = key.rpartition(".")
        if leaf in _OURS_TO_OFFICIAL:
            old = _OURS_TO_OFFICIAL[leaf]
            key = f"{prefix}.{old}" if prefix else old
            if old == "init":
                value = torch.tensor([0 if bool(value) else 1])
        out[key] = value
    return out


def load_official_checkpoint(
    path: str | os.PathLike[str], model: nn.Module | None = None, *,
    weight_levels: int | None = None, act_levels: int | None = None, trusted: bool = False,
) -> dict[str, torch.Tensor]:
    """Read an official EWGS checkpoint (CIFAR or ImageNet layout) or an ``ewgs`` checkpoint.

    Args:
        path: the ``.pth`` / ``.pth.tar`` file.
        model: if given, the converted weights are loaded into it (unwrapped). Every key of the
            model must be present (FP-only checkpoints: load them into the FP model and quantize
            after, or use ``model.load_state_dict(sd, strict=False)`` yourself).
        weight_levels, act_levels: the official ``--weight_levels``/``--act_levels`` used for
            training; checked against the model's bits when both are given.
        trusted: allow arbitrary pickled objects (``weights_only=False``).

    Returns:
        The converted state dict (this package's key names).

    Raises:
        CheckpointError: missing/truncated/foreign file, missing quantizer keys, or a level/bit
            mismatch.
    """
    p = Path(path)
    sd = convert_official_state_dict(_extract_state_dict(read_checkpoint_file(p, trusted=trusted), p))
    if model is None:
        return sd
    target = model.module if hasattr(model, "module") and isinstance(model.module, nn.Module) else model
    for levels, attr in ((weight_levels, "w_bits"), (act_levels, "a_bits")):
        if levels is None:
            continue
        bits = levels_to_bits(levels)
        wrong = [n for n, m in target.named_modules() if isinstance(m, EWGSLayer) and m.quantized
                 and getattr(m, attr) != bits]
        if wrong:
            raise CheckpointError(f"checkpoint trained with {levels} levels ({bits} bits) but layer {wrong[0]} has "
                                  f"{attr}={getattr(target.get_submodule(wrong[0]), attr)}")
    expected = target.state_dict()
    missing = [k for k in expected if k not in sd]
    if missing:
        quant = [k for k in missing if k.rpartition(".")[2] in set(OFFICIAL_NAMES.values())]
        what = "quantizer keys" if quant else "keys"
        raise CheckpointError(f"{p} lacks {len(missing)} {what} of this model, e.g. {(quant or missing)[:3]} "
                              "(was it trained with other bits, or is it a full-precision checkpoint?)")
    unexpected = [k for k in sd if k not in expected]
    if unexpected:
        raise CheckpointError(f"{p} has {len(unexpected)} keys this model does not have, e.g. {unexpected[:3]}")
    bad = [k for k, v in expected.items() if tuple(v.shape) != tuple(sd[k].shape)]
    if bad:
        raise CheckpointError(f"{p}: shape mismatch for {bad[0]}: {tuple(sd[bad[0]].shape)} vs "
                              f"{tuple(expected[bad[0]].shape)}")
    target.load_state_dict(sd)
    return sd
