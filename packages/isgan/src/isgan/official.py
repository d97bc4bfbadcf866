"""Loading the authors' checkpoints (``model_C`` / ``model_G`` / ``model_D`` dicts, spec §3)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

import torch

from cvcore.errors import CheckpointError
from isgan.model import ISGAN

__all__ = ["convert_official_state", "load_official_checkpoint"]

# official part names in the order of our 8 parts (global, then stripes, per branch)
_PARTS = [("g", 0), ("g", 1), ("0", 1), ("1", 1), ("g", 2), ("0", 2), ("1", 2), ("2", 2)]
_RED = {f"reduction_z{z}_p{b}_id": k for k, (z, b) in enumerate(_PARTS)}
_CLS = {f"fc_f{z}_p{b}_id": k for k, (z, b) in enumerate(_PARTS)}
_MU = {f"fc_z{z}_p{b}_nid_mu": k for k, (z, b) in enumerate(_PARTS)}
_LV = {f"fc_z{z}_p{b}_nid_lv": k for k, (z, b) in enumerate(_PARTS)}


def _map_c(key: str) -> str:
    head, _, rest = key.partition(".")
    if head == "backbone":
        return f"encoder.stem.{rest}"
    m = re.fullmatch(r"p([012])_(id|nid)", head)
    if m:
        return f"encoder.{'id' if m.group(2) == 'id' else 'nid'}_branches.{m.group(1)}.{rest}"
    for table, name in ((_RED, "reductions"), (_CLS, "classifiers"), (_MU, "mu_heads"), (_LV, "logvar_heads")):
        if head in table:
            return f"encoder.{name}.{table[head]}.{rest}"
    raise CheckpointError(f"unexpected key '{key}' in the official model_C")


def _map_g(key: str) -> str:
    head, _, rest = key.partition(".")
    if head == "G_fc":
        return f"generator.fc.{rest}"
    if head == "G_deconv":
        return f"generator.deconv.{rest}"
    raise CheckpointError(f"unexpected key '{key}' in the official model_G")


def _map_d(key: str) -> str:
    head, _, rest = key.partition(".")
    if head == "backbone":  # the official D's Sequential starts with a Tanh at index 0
        idx, _, tail = rest.partition(".")
        return f"discriminator.body.{int(idx) - 1}.{tail}"
    table = {"image_D": "image_head", "label_D1": "class_conv", "label_D2": None}
    if head in table:
        if head == "label_D2":
            return f"discriminator.class_fc.{rest.partition('.')[2]}"
        return f"discriminator.{table[head]}.{rest}"
    raise CheckpointError(f"unexpected key '{key}' in the official model_D")


def convert_official_state(ckpt: Mapping[str, Any]) -> dict[str, torch.Tensor]:
    """Map an official checkpoint dict (``model_C``, optionally ``model_G``, ``model_D``) to
    :class:`ISGAN` state-dict keys."""
    if not isinstance(ckpt, Mapping) or "model_C" not in ckpt:
        raise CheckpointError("not an official IS-GAN checkpoint: no 'model_C' entry "
                              f"(keys: {sorted(ckpt)[:6] if isinstance(ckpt, Mapping) else type(ckpt).__name__})")
    out: dict[str, torch.Tensor] = {}
    for part, mapper in (("model_C", _map_c), ("model_G", _map_g), ("model_D", _map_d)):
        for k, v in (ckpt.get(part) or {}).items():
            k = k[len("module."):] if k.startswith("module.") else k
            out[mapper(k)] = v
    return out


def load_official_checkpoint(path: str | os.PathLike[str], model: ISGAN | None = None, *,
                             num_classes: int | None = None, strict: bool = True) -> ISGAN:
    """Load an official ``isgan_stage{S}_{epoch}.pt`` into ``model`` (or a new ResNet-50 ISGAN).

    Encoder-only files (stage 1) load into the encoder; G and D stay as they are. ``strict``
    requires every key of the present parts to match.
    """
    try:
        raw = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError as exc:
        raise CheckpointError(f"checkpoint not found: {path}") from exc
    except Exception as exc:  # noqa: BLE001 - any unpickling failure means a bad file
        raise CheckpointError(f"cannot read {path}: truncated or not a torch checkpoint ({exc.__class__.__name__})") from exc
    state = convert_official_state(raw)
    if model is None:
        w = state.get("encoder.classifiers.0.weight")
        if w is None and num_classes is None:
            raise CheckpointError(f"{path}: cannot infer the number of classes; pass num_classes")
        model = ISGAN(num_classes or int(w.shape[0]))
    own = model.state_dict()
    parts = {k.split(".")[0] for k in state}
    expected = {k for k in own if k.split(".")[0] in parts and not k.endswith("num_batches_tracked")}
    missing = sorted(expected - set(state))
    unexpected = sorted(set(state) - set(own))
    if strict and (missing or unexpected):
        raise CheckpointError(f"{path} does not match the model: missing {missing[:3]}, unexpected {unexpected[:3]}")
    for k, v in state.items():
        if k in own and own[k].shape != v.shape:
            raise CheckpointError(f"{path}: '{k}' has shape {tuple(v.shape)}, the model expects {tuple(own[k].shape)}")
    model.load_state_dict(state, strict=False)
    return model
