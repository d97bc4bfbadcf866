"""Loader for the authors' released CIFAR-10 ResNet-20 checkpoints (spec §3, §10.3).

Official files (``results/cifar10_fp.pth``, ``cifar10_W1A1.pth``, ``cifar10_W1A32.pth``) are
dicts with ``'state_dict'`` (plus optimizer/scheduler states), keys like::

    conv1.weight, bn1.*, layer2.block_0.0.conv1.{weight,uW,lW,beta,uA[,lA],init}, ..., bn2.*, linear.*

Mapping onto :func:`daq.models.resnet20`: ``layerX.block_i.0.`` -> ``layerX.i.``, ``uW`` ->
``w_upper``, ``lW`` -> ``w_lower``, ``uA`` -> ``a_upper``, ``beta`` -> ``scale``, ``init`` (1 =
still to initialise) -> ``initialized = (init == 0)``. The unused activation bounds of the W1A32
file (``uA = 2^31``, ``lA = -2^32``) are dropped. A leading ``module.`` (DataParallel) is removed.
"""

from __future__ import annotations

import os
import pickle
import re
import zipfile
from pathlib import Path
from typing import Any

import torch
from torch import nn

from cvcore.errors import CheckpointError

__all__ = ["from_official_keys", "load_official_checkpoint", "to_official_state_dict"]

_BLOCK = re.compile(r"^(layer\d+)\.block_(\d+)\.0\.")
_NAMES = {"uW": "w_upper", "lW": "w_lower", "uA": "a_upper", "lA": "a_lower", "beta": "scale", "init": "initialized"}
_INVERSE = {v: k for k, v in _NAMES.items()}
#: ``u_A`` values at or above this are the never-initialised placeholder (W1A32 files): unused.
_PLACEHOLDER_THRESHOLD = 1e9


def _read(path: Path) -> Any:
    if not path.is_file():
        raise CheckpointError(f"official checkpoint not found: {path}")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except (EOFError, zipfile.BadZipFile, pickle.UnpicklingError, RuntimeError, ValueError, OSError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CheckpointError(f"official checkpoint {path} is truncated or not a torch file ({first})") from exc


def from_official_keys(state: dict[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], int | None, int | None]:
    """Rename an official ResNet-20 state dict; returns ``(state, w_bits, a_bits)`` (bits 1 or None)."""
    out: dict[str, torch.Tensor] = {}
    has_w = any(k.endswith(".uW") for k in state)
    has_a = any(k.endswith(".uA") and float(v) < _PLACEHOLDER_THRESHOLD for k, v in state.items())
    for key, value in state.items():
        if not isinstance(value, torch.Tensor):
            raise CheckpointError(f"official state dict entry {key!r} is not a tensor")
        k = key[len("module."):] if key.startswith("module.") else key
        k = _BLOCK.sub(r"\1.\2.", k)
        head, _, leaf = k.rpartition(".")
        if leaf in _NAMES:
            if leaf in ("uA", "lA") and not has_a:
                continue  # W1A32: declared but unused activation bounds
            if leaf == "lA":
                continue  # l_A = 0 fixed for the ReLU-fed block convs
            value = (value == 0) if leaf == "init" else value.float()
            k = f"{head}.{_NAMES[leaf]}"
        out[k] = value
    return out, (1 if has_w else None), (1 if has_a else None)


def to_official_state_dict(model: nn.Module) -> dict[str, torch.Tensor]:
    """The inverse mapping: a :func:`daq.models.resnet20` state dict in the official key layout."""
    out: dict[str, torch.Tensor] = {}
    for key, value in model.state_dict().items():
        k = re.sub(r"^(layer\d+)\.(\d+)\.", r"\1.block_\2.0.", key)
        head, _, leaf = k.rpartition(".")
        if leaf in _INVERSE and head.split(".")[0].startswith("layer"):
            if leaf == "initialized":
                value = torch.tensor(0 if bool(value) else 1, dtype=torch.int64)
            k = f"{head}.{_INVERSE[leaf]}"
        out[k] = value.detach().clone()
    return out


def load_official_checkpoint(
    path: str | os.PathLike[str], model: nn.Module | None = None, *, strict: bool = True,
) -> dict[str, Any]:
    """Load an official DAQ checkpoint (FP, W1A1 or W1A32 ResNet-20) onto the project's modules.

    Args:
        path: the ``.pth`` file.
        model: a :func:`daq.models.resnet20` to load into; built from the file (bits and width
            inferred: ``uW`` present -> ``w_bits=1``, initialised ``uA`` -> ``a_bits=1``) if None.
        strict: unexpected keys and missing non-quantizer keys are errors. Missing quantizer
            keys (an FP file loaded into a quantized model, as ``--pretrained`` does) are allowed:
            those layers keep their construction values and initialise on the first batch.

    Returns:
        ``{"model", "state_dict", "w_bits", "a_bits", "epoch"}``.

    Raises:
        CheckpointError: missing, truncated or wrong file, or a state dict that does not fit.
    """
    p = Path(path)
    ckpt = _read(p)
    state = ckpt.get("state_dict", ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(state, dict) or "conv1.weight" not in {k.removeprefix("module.") for k in state}:
        raise CheckpointError(
            f"{p} is not an official DAQ ResNet-20 checkpoint (expected a dict with 'state_dict' holding "
            "'conv1.weight', 'layer1.block_0.0.conv1.weight', ...)"
        )
    mapped, w_bits, a_bits = from_official_keys(state)
    if model is None:
        from daq.models.resnet_cifar import resnet20

        try:
            width = int(mapped["conv1.weight"].shape[0])
            num_classes = int(mapped["linear.weight"].shape[0])
        except KeyError as exc:
            raise CheckpointError(f"{p}: official state dict lacks {exc.args[0]!r}") from None
        model = resnet20(w_bits, a_bits, num_classes=num_classes, width=width)
    own = model.state_dict()
    unexpected = sorted(set(mapped) - set(own))
    missing = sorted(set(own) - set(mapped))
    q_leaves = {"w_upper", "w_lower", "a_upper", "a_lower", "scale", "initialized"}
    hard_missing = [k for k in missing if k.rpartition(".")[2] not in q_leaves]
    if strict and (unexpected or hard_missing):
        what = f"unexpected keys {unexpected[:4]}" if unexpected else f"missing keys {hard_missing[:4]}"
        raise CheckpointError(f"{p} does not fit this model: {what}")
    bad_shape = [k for k in mapped if k in own and own[k].shape != mapped[k].shape]
    if bad_shape:
        k = bad_shape[0]
        raise CheckpointError(
            f"{p} does not fit this model: {k} has shape {tuple(mapped[k].shape)}, model expects {tuple(own[k].shape)}"
        )
    model.load_state_dict({k: v for k, v in mapped.items() if k in own}, strict=False)
    epoch = ckpt.get("epoch") if isinstance(ckpt, dict) else None
    return {"model": model, "state_dict": mapped, "w_bits": w_bits, "a_bits": a_bits, "epoch": epoch}
