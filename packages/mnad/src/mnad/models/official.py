"""Load the authors' published files: ``model.pth`` (a pickled whole ``convAE`` module, saved with
``torch.save(model)``) and ``keys.pt`` (the trained memory items, a ``(M, C)`` tensor).

Unpickling a whole module runs code named in the file, so it needs an explicit opt-in
(``trust_pickle=True``). The official classes are not needed: every class outside torch is
replaced by an inert ``nn.Module`` stub while unpickling, and only the tensors are kept.
A plain state dict (someone re-saved ``model.state_dict()``) loads without the opt-in.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import torch
from torch import nn

from cvcore.checkpoint import read_foreign_state_dict
from cvcore.errors import CheckpointError
from mnad.models.networks import MNADPredictor, MNADReconstructor

__all__ = ["OFFICIAL_KEY_MAP", "from_official_state_dict", "load_official", "read_official_state_dict"]

#: Official module names -> ours (``model/final_future_prediction_with_memory_..._top1.py`` and
#: ``model/Reconstruction.py``; the ``Memory`` module holds no tensors).
OFFICIAL_KEY_MAP = {
    "encoder.moduleConv1.": "encoder.enc1.",
    "encoder.moduleConv2.": "encoder.enc2.",
    "encoder.moduleConv3.": "encoder.enc3.",
    "encoder.moduleConv4.": "encoder.enc4.",
    "encoder.moduleBatchNorm.": "encoder.unused_bn.",
    "decoder.moduleConv.": "decoder.dec0.",
    "decoder.moduleUpsample4.": "decoder.up4.",
    "decoder.moduleDeconv3.": "decoder.dec3.",
    "decoder.moduleUpsample3.": "decoder.up3.",
    "decoder.moduleDeconv2.": "decoder.dec2.",
    "decoder.moduleUpsample2.": "decoder.up2.",
    "decoder.moduleDeconv1.": "decoder.gen.",
}

def read_official_state_dict(path: str | os.PathLike[str], *, trust_pickle: bool = False,
                             map_location: Any = "cpu") -> dict[str, torch.Tensor]:
    """The tensors of an official ``model.pth`` (whole module or state dict), official names.

    A pickled whole module needs ``trust_pickle=True`` (see
    :func:`cvcore.checkpoint.read_foreign_state_dict`, which reads it without the authors' code).
    """
    try:
        return read_foreign_state_dict(path, trust_pickle=trust_pickle, map_location=map_location)
    except CheckpointError as exc:
        if "trust_pickle" in str(exc):
            raise CheckpointError(
                f"{path} is a pickled whole model; unpickling can run code from the file. Load it only if "
                "you trust its source: load_official(..., trust_pickle=True) / mnad eval --trust-pickle"
            ) from exc
        raise


def _rename(sd: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    out = {}
    for k, v in sd.items():
        for old, new in OFFICIAL_KEY_MAP.items():
            if k.startswith(old):
                out[new + k[len(old):]] = v
                break
        else:
            out[k] = v
    return out


def from_official_state_dict(sd: Mapping[str, torch.Tensor], items: torch.Tensor | None,
                             variant: Literal["pred", "recon"]) -> nn.Module:
    """Build our model (``compat="official"``) from official tensors and items ``(M, C)``."""
    if variant not in ("pred", "recon"):
        raise CheckpointError(f"variant must be 'pred' or 'recon', got {variant!r}")
    try:
        w1 = sd["encoder.moduleConv1.0.weight"]
        up4 = sd["decoder.moduleUpsample4.0.weight"]  # ConvTranspose: (in, out, 3, 3)
        dec0 = sd["decoder.moduleConv.0.weight"]
        gen = sd["decoder.moduleDeconv1.6.weight"]
    except KeyError as exc:
        raise CheckpointError(f"not an official MNAD model: missing tensor {exc.args[0]!r}") from exc
    width, in_ch, channels = int(w1.shape[0]), int(w1.shape[1]), int(gen.shape[0])
    found = "recon" if int(up4.shape[1]) == 8 * width else "pred"
    if found != variant:
        raise CheckpointError(f"the model file holds the {found!r} variant, not {variant!r}")
    use_memory = int(dec0.shape[1]) == 16 * width
    num_items = int(items.shape[0]) if items is not None else 10
    if variant == "pred":
        model: nn.Module = MNADPredictor(in_ch // channels, channels, width, num_items, use_memory, compat="official")
    else:
        model = MNADReconstructor(channels, width, num_items, use_memory, compat="official")
    state = _rename(sd)
    if "encoder.unused_bn.weight" not in state:  # tolerate files without the unused BatchNorm
        model.encoder.unused_bn = None  # type: ignore[assignment]
    try:
        missing, unexpected = model.load_state_dict(state, strict=False)
    except RuntimeError as exc:
        raise CheckpointError(f"official tensors do not fit: {str(exc).splitlines()[0]}") from exc
    missing = [k for k in missing if k != "memory.items"]
    if missing or unexpected:
        raise CheckpointError(f"official model file does not match: missing {missing[:3]}, unexpected {unexpected[:3]}")
    if use_memory:
        if items is None:
            raise CheckpointError("this model uses a memory: give the official keys.pt (items) file")
        if items.ndim != 2 or int(items.shape[1]) != 8 * width:
            raise CheckpointError(f"items have shape {tuple(items.shape)}, the model needs (M, {8 * width})")
        model.memory.items.copy_(items.float())
    return model.eval()


def load_official(model_path: str | os.PathLike[str], items_path: str | os.PathLike[str] | None,
                  variant: Literal["pred", "recon"] = "pred", *, trust_pickle: bool = False,
                  map_location: Any = "cpu") -> nn.Module:
    """Our model with the weights of an official ``model.pth`` and the items of ``keys.pt``.

    Args:
        model_path: official ``model.pth`` (pickled ``convAE``) or a state dict in official names.
        items_path: official ``keys.pt``, a ``(M, C)`` tensor (None for a model without memory).
        variant: ``"pred"`` or ``"recon"`` (checked against the tensors).
        trust_pickle: allow unpickling a whole module (runs code named in the file).

    Raises:
        CheckpointError: missing/truncated file, wrong variant, shapes that do not fit, no opt-in.
    """
    sd = read_official_state_dict(model_path, trust_pickle=trust_pickle, map_location=map_location)
    items = None
    if items_path is not None:
        ip = Path(items_path)
        if not ip.is_file():
            raise CheckpointError(f"official items file not found: {ip}")
        try:
            items = torch.load(ip, map_location=map_location, weights_only=True)
        except Exception as exc:  # noqa: BLE001
            raise CheckpointError(f"{ip} is truncated or not a torch tensor file ({str(exc).splitlines()[0]})") from exc
        if not isinstance(items, torch.Tensor):
            raise CheckpointError(f"{ip} does not hold a tensor of memory items")
    return from_official_state_dict(sd, items, variant)
