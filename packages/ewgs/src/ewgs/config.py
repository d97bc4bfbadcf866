"""Dataclass configuration of ``ewgs train`` (TOML recipes in ``ewgs/configs/``, ``--set`` overrides).

Bits: an integer 1..8, or 32 for full precision (TOML has no null).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

__all__ = ["DataConfig", "HessianConfig", "ModelConfig", "OptimConfig", "TrainConfig", "bits_or_none"]

FP_BITS = 32


def bits_or_none(bits: int) -> int | None:
    """32 → ``None`` (full precision); anything else is passed on (validated by the layers)."""
    return None if bits == FP_BITS else bits


@dataclass
class DataConfig:
    dataset: Literal["cifar10", "cifar100", "imagenet", "fashion-mnist", "synthetic"] = "cifar10"
    root: str = ""
    batch_size: int = 256
    test_batch_size: int = 100
    train_subset: int = 0          #: use only the first N training images (0 = all)
    test_subset: int = 0
    synthetic_size: int = 1024
    image_size: int = 0            #: ImageNet/synthetic crop size (0 = recipe default)
    augment: bool = True


@dataclass
class ModelConfig:
    arch: Literal["resnet20", "resnet18", "resnet34", "mobilenet_v2", "mobilenet_v2_tv", "small"] = "resnet20"
    w_bits: int = 1
    a_bits: int = 1
    width: int = 16                #: resnet20 / small only
    backward: Literal["ewgs", "ste"] = "ewgs"
    skip_first: bool = True
    skip_last: bool = True
    delta_w: float = 0.0           #: initial (or fixed, with hessian.enabled = false) δ of the weights
    delta_a: float = 0.0


@dataclass
class OptimConfig:
    optimizer: Literal["adam", "sgd"] = "adam"
    lr: float = 1e-3
    q_lr: float = 1e-5
    weight_decay: float = 1e-4
    momentum: float = 0.9
    epochs: int = 400
    scheduler: Literal["cosine", "step", "none"] = "cosine"
    milestones: list[int] = field(default_factory=lambda: [40, 80])


@dataclass
class HessianConfig:
    enabled: bool = True
    update_every: int = 10
    num_batches: int = 3
    batch_size: int = 0            #: 0 = the training batch size (ImageNet recipe: 16)
    max_iter: int = 50
    tol: float = 1e-3
    representative: Literal["3std", "max", "mean_abs"] = "3std"
    eps: float = 0.0
    joint_probe: bool = False
    compat: Literal["default", "official"] = "default"


@dataclass
class TrainConfig:
    seed: int = 0
    pretrained: str = ""           #: FP checkpoint loaded by key intersection before quantizing
    eval_train: bool = False       #: also evaluate the training set in eval mode each epoch (official; costly)
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    hessian: HessianConfig = field(default_factory=HessianConfig)
