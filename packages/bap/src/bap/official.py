"""Loading the authors' checkpoints (stage-1 ``Labeler``, stage-3 ``DeepLab_LargeFOV`` / ``DeepLab_ASPP``)
and the Caffe VGG-16 initialisation ``weights/vgg_caffe.pth`` (keys ``conv1_1 … fc7``).

Our modules use the official names, so the mapping only strips wrappers (``module.`` from
DataParallel, a ``state_dict``/``model`` entry) and adds ``backbone.`` to bare backbone keys.
"""

from __future__ import annotations

import os
import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch
from torch import nn

from cvcore.errors import CheckpointError

__all__ = ["load_backbone_weights", "load_official_checkpoint", "load_official_state_dict", "to_official_state_dict"]


def _unwrap(obj: Any, path: str) -> dict[str, torch.Tensor]:
    if isinstance(obj, dict):
        for key in ("state_dict", "model", "model_state_dict"):
            if key in obj and isinstance(obj[key], dict):
                obj = obj[key]
                break
    if not isinstance(obj, dict) or not obj or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise CheckpointError(f"{path} does not hold a state dict of tensors")
    return {k[7:] if k.startswith("module.") else k: v for k, v in obj.items()}


def _read(path: str | os.PathLike[str]) -> Any:
    p = Path(path)
    if not p.is_file():
        raise CheckpointError(f"checkpoint not found: {p}")
    try:
        return torch.load(p, map_location="cpu", weights_only=True)
    except (EOFError, zipfile.BadZipFile, pickle.UnpicklingError, RuntimeError, ValueError, OSError) as exc:
        raise CheckpointError(f"checkpoint {p} is truncated or not a torch checkpoint ({str(exc).splitlines()[0]})") from exc


def load_official_state_dict(model: nn.Module, sd: dict[str, torch.Tensor], *, source: str = "state dict") -> None:
    """Load official keys into ``model`` strictly; a missing/extra/mis-shaped key is a CheckpointError."""
    sd = _unwrap(sd, source)
    if not any(k.startswith("backbone.") for k in sd):
        sd = {(k if k.startswith(("classifier.", "c1.", "c2.", "c3.", "c4.")) else "backbone." + k): v
              for k, v in sd.items()}
    own = model.state_dict()
    missing = sorted(set(own) - set(sd))
    unexpected = sorted(set(sd) - set(own))
    if missing or unexpected:
        raise CheckpointError(f"{source} does not match {type(model).__name__}: "
                              f"missing {missing[:3]}{'...' if len(missing) > 3 else ''}, "
                              f"unexpected {unexpected[:3]}{'...' if len(unexpected) > 3 else ''}")
    for k, v in sd.items():
        if own[k].shape != v.shape:
            raise CheckpointError(f"{source}: {k} has shape {tuple(v.shape)}, expected {tuple(own[k].shape)}")
    model.load_state_dict(sd, strict=True)


def load_official_checkpoint(path: str | os.PathLike[str], kind: str = "stage1", *, num_classes: int = 21) -> nn.Module:
    """Build the model of ``kind`` and load an official checkpoint into it.

    Args:
        kind: ``"stage1"`` (BAPClassifier, VGG-16), ``"largefov"`` (stage 3 VGG) or
            ``"deeplabv2"`` (stage 3 ResNet-101).
    Raises:
        CheckpointError: missing, truncated or incompatible file (names the problem).
    """
    from bap.models import BAPClassifier, DeepLabLargeFOV, DeepLabV2ASPP

    builders = {"stage1": lambda: BAPClassifier(num_classes), "largefov": lambda: DeepLabLargeFOV(num_classes),
                "deeplabv2": lambda: DeepLabV2ASPP(num_classes)}
    if kind not in builders:
        raise ValueError(f"kind must be one of {sorted(builders)}, got {kind!r}")
    model = builders[kind]()
    load_official_state_dict(model, _read(path), source=str(path))
    return model.eval()


def load_backbone_weights(model: nn.Module, path: str | os.PathLike[str]) -> list[str]:
    """Non-strict load of backbone initialisation weights (``vgg_caffe.pth``, §3.14); returns loaded keys.

    Keys may be bare (``conv1_1.weight``) or prefixed with ``backbone.``; classifier keys are
    ignored; a key with the wrong shape is an error. Loading nothing is an error too.
    """
    sd = _unwrap(_read(path), str(path))
    own = model.backbone.state_dict()
    loaded = {}
    for k, v in sd.items():
        k = k[len("backbone."):] if k.startswith("backbone.") else k
        if k in own:
            if own[k].shape != v.shape:
                raise CheckpointError(f"{path}: {k} has shape {tuple(v.shape)}, expected {tuple(own[k].shape)}")
            loaded[k] = v
    if not loaded:
        raise CheckpointError(f"{path} has no key of the {type(model.backbone).__name__} backbone")
    model.backbone.load_state_dict(loaded, strict=False)
    return sorted(loaded)


def to_official_state_dict(model: nn.Module) -> dict[str, torch.Tensor]:
    """Our state dict in the official key layout (identical names; BN ``num_batches_tracked`` kept)."""
    return {k: v.detach().clone() for k, v in model.state_dict().items()}
