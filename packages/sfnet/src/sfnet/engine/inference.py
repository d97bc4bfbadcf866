"""Loading a model for ``eval`` / ``match`` / ``export`` from any of the checkpoints this package knows."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from cvcore import checkpoint as ckpt_mod
from cvcore.config import from_dict
from cvcore.errors import CheckpointError
from sfnet.config import TrainConfig
from sfnet.models.sfnet import OFFICIAL_KEYS, SFNet

__all__ = ["load_model", "save_model"]


def save_model(path: str | os.PathLike[str], model: SFNet, cfg: TrainConfig, version: str, **extra: Any) -> Path:
    """A cvcore checkpoint with the full model state and the config that rebuilds it."""
    return ckpt_mod.save_checkpoint(path, package="sfnet", version=version, model=model, config=cfg,
                                    extra=extra, save_rng=False)


def load_model(weights: str | os.PathLike[str] | None, *, version: str, backbone: str = "resnet101",
               backbone_weights: str = "none", feature_size: tuple[int, int] = (20, 20),
               device: torch.device | str = "cpu") -> SFNet:
    """Build an :class:`SFNet` from ``weights``:

    - a cvcore checkpoint written by ``sfnet train``/``sfnet demo`` (model rebuilt from its config);
    - the authors' ``best_checkpoint.pt`` (``state_dict1``/``state_dict2``): adaptation layers only, so
      the backbone comes from ``backbone_weights`` (``imagenet`` or a resnet101 state-dict path).
    """
    if weights is None:
        raise CheckpointError("this command needs --weights: best.pt from 'sfnet train', demo_model.pt from "
                              "'sfnet demo', or the official best_checkpoint.pt (with --backbone-weights)")
    p = Path(weights)
    if not p.is_file():
        raise CheckpointError(f"checkpoint not found: {p}")
    try:
        raw = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CheckpointError(f"checkpoint {p} is truncated or not a torch checkpoint ({msg})") from exc
    if isinstance(raw, dict) and raw.get("format") == ckpt_mod.FORMAT:
        ck = ckpt_mod.load_checkpoint(p, package="sfnet", version=version)
        cfg = from_dict(TrainConfig, ck.get("config") or {})
        cfg.model.pretrained = "none"  # the state dict below holds the backbone
        from sfnet.engine.train import build_model

        model = build_model(cfg)
        ckpt_mod.restore(ck, model=model, rng=False)
    elif isinstance(raw, dict) and all(k in raw for k in OFFICIAL_KEYS):
        if backbone == "resnet101" and backbone_weights in ("", "none"):
            raise CheckpointError(f"{p} holds only the adaptation layers; give the ImageNet backbone with "
                                  "--backbone-weights imagenet (downloads) or --backbone-weights PATH")
        pre: bool | str = False if backbone_weights in ("", "none") else (
            True if backbone_weights == "imagenet" else backbone_weights)
        model = SFNet(feature_size=feature_size, backbone=backbone, pretrained_backbone=pre)
        model.load_adaptation_state_dict(raw, source=str(p))
    else:
        raise CheckpointError(f"{p} is neither an sfnet checkpoint nor the official best_checkpoint.pt "
                              f"(keys {sorted(raw)[:5] if isinstance(raw, dict) else type(raw).__name__})")
    return model.to(device).eval()
