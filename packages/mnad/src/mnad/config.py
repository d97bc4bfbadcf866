"""Training configuration and the paper's recipes (``configs/*.toml``)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Literal

__all__ = ["RECIPES", "TrainConfig", "method_defaults", "recipe_path"]


@dataclass
class TrainConfig:
    """Everything ``mnad train`` needs (spec Sec. 6; official ``Train.py`` defaults).

    ``max_iters`` > 0 stops after that many optimiser steps (demo, tests); 0 trains all epochs.
    ``seed`` None draws a seed from the OS and records it in the saved config.
    """

    method: Literal["pred", "recon"] = "pred"
    dataset: Literal["ped2", "avenue", "shanghai", "folder"] = "folder"
    epochs: int = 60
    batch_size: int = 4
    lr: float = 2e-4
    lambda_compact: float = 0.1
    lambda_separate: float = 0.1
    num_items: int = 10
    width: int = 64
    size: int = 256
    t_length: int = 5
    use_memory: bool = True
    normalize: Literal["all", "assigned"] = "all"
    color: Literal["bgr", "rgb", "gray"] = "bgr"
    max_iters: int = 0
    seed: int | None = None
    device: str = "auto"
    num_workers: int = 2

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "num_items", "width", "size", "t_length"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.lr <= 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")
        if self.size % 8:
            raise ValueError(f"size must be divisible by 8 (three 2x2 poolings), got {self.size}")
        if self.method == "pred" and self.t_length < 2:
            raise ValueError("the prediction variant needs t_length >= 2 (4 input frames + 1 target: 5)")
        if self.use_memory and self.num_items < 2:
            raise ValueError("the separateness loss needs num_items >= 2")
        if self.max_iters < 0 or self.num_workers < 0:
            raise ValueError("max_iters and num_workers must be >= 0")


def method_defaults(method: str = "pred") -> TrainConfig:
    """Defaults of one variant: recon switches ``t_length=1`` and ``lambda_* = 0.01`` (README)."""
    if method == "recon":
        return TrainConfig(method="recon", t_length=1, lambda_compact=0.01, lambda_separate=0.01)
    if method == "pred":
        return TrainConfig()
    raise ValueError(f"unknown method {method!r}: use 'pred' or 'recon'")


RECIPES = ("ped2_mnad_pred", "ped2_mnad_recon", "avenue_mnad_pred", "shanghai_mnad_pred")


def recipe_path(name: str) -> Path:
    """Path of a shipped recipe, e.g. ``recipe_path("ped2_mnad_pred")``."""
    if name not in RECIPES:
        raise ValueError(f"unknown recipe {name!r}; known: {', '.join(RECIPES)}")
    return Path(str(resources.files("mnad") / "configs" / f"{name}.toml"))


def replace(cfg: TrainConfig, **kw: object) -> TrainConfig:
    return dataclasses.replace(cfg, **kw)
