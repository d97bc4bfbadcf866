"""Dataclass configs of ``daq train/eval`` (TOML recipes in ``daq/configs/``, ``--set`` overrides).

Bit-widths use 32 for "full precision" in configs and on the command line (TOML has no null).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

__all__ = ["DataConfig", "ModelConfig", "OptimConfig", "TrainConfig", "bits_or_none", "recipe_path", "recipes"]

#: Bit-width value meaning "not quantized" (``--w-bits 32``).
FULL_PRECISION_BITS = 32


def bits_or_none(bits: int) -> int | None:
    """32 (or 0) -> None; anything else unchanged (validated later)."""
    return None if bits in (0, FULL_PRECISION_BITS) else bits


@dataclass
class DataConfig:
    dataset: str = "cifar10"          # cifar10 | imagenet | fashion-mnist | synthetic
    root: str = ""                    # --data-root
    batch_size: int = 256             # official train batch
    eval_batch_size: int = 100        # official test batch
    augment: bool = True              # flip + crop(pad 4) for CIFAR; RandomResizedCrop for ImageNet
    train_limit: int = 0              # use only the first N training images (0 = all)
    test_limit: int = 0
    synthetic_train: int = 512        # sizes of the seeded synthetic set
    synthetic_test: int = 256
    image_size: int = 32              # synthetic images (H = W)


@dataclass
class ModelConfig:
    arch: str = "resnet20"            # resnet20 | resnet18 | resnet34 | mobilenet_v2 | small_net
    w_bits: int = 1                   # 32 = full precision
    a_bits: int = 1
    width: int = 16                   # resnet20 / small_net width (tiny test nets: 4)
    num_classes: int = 10
    gamma_w: float = 2.0
    sigma_w: float = 1.0
    gamma_a: float = 2.0
    sigma_a: float = 2.0
    skip_first: bool = True
    skip_last: bool = True
    compat: str = "default"           # default | official


@dataclass
class OptimConfig:
    lr: float = 0.1                   # released CIFAR configs (paper: 1e-2 for ImageNet ResNets)
    momentum: float = 0.9
    weight_decay: float = 1e-4        # also on BatchNorm parameters (official)
    q_lr: float = 1e-4                # Adam on bounds and scales, no weight decay
    epochs: int = 400
    t_max: int = 0                    # cosine period in epochs (0 = epochs; official 400)


@dataclass
class TrainConfig:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    seed: int = 0
    pretrained: str = ""              # FP checkpoint (official cifar10_fp.pth or a daq checkpoint)
    device: str = "auto"


def recipes() -> list[str]:
    """Names of the bundled TOML recipes."""
    return sorted(p.name for p in resources.files("daq").joinpath("configs").iterdir() if p.name.endswith(".toml"))


def recipe_path(name: str) -> Path:
    """Path of a bundled recipe (``"cifar10_resnet20_w1a1"`` or with ``.toml``)."""
    name = name if name.endswith(".toml") else name + ".toml"
    return Path(str(resources.files("daq").joinpath("configs", name)))
