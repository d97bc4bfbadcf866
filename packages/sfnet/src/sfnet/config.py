"""Dataclass configs of ``sfnet train`` (TOML + ``--set``); defaults = the official ``train.py``."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["DataConfig", "LossConfig", "ModelConfig", "OptimConfig", "TrainConfig"]


@dataclass
class ModelConfig:
    backbone: str = "resnet101"          # "resnet101" | "tiny"
    pretrained: str = "imagenet"         # "imagenet" | "none" | path to a resnet101 state dict
    feature_size: tuple[int, int] = (20, 20)
    beta: float = 50.0                   # --beta
    kernel_sigma: float = 5.0            # --kernel_sigma


@dataclass
class LossConfig:
    lambda_mask: float = 3.0             # --lambda1
    lambda_flow: float = 16.0            # --lambda2
    lambda_smooth: float = 0.5           # --lambda3
    smoothness: str = "official"         # "official" | "per_component" (E10)


@dataclass
class DataConfig:
    images: str = ""                     # VOC2012_seg_img.npy (or a folder holding training_data/)
    masks: str = ""                      # VOC2012_seg_msk.npy (defaults to the images' folder)
    synthetic_demo: bool = False         # train on scikit-image composites instead
    demo_images: int = 12
    demo_size: int = 160
    affine_std: float = 0.15
    jitter: float = 0.1
    hflip_p: float = 0.5
    val_root: str = ""                   # PF-PASCAL root for per-epoch validation (bbox PCK)
    val_benchmark: str = "pf-pascal"
    val_eval_type: str = "bounding_box"
    val_synthetic: int = 8               # held-out synthetic pairs when no val_root is given


@dataclass
class OptimConfig:
    epochs: int = 40
    batch_size: int = 16
    lr: float = 3e-5
    milestones: list[int] = field(default_factory=lambda: [30])
    gamma: float = 0.2
    max_steps_per_epoch: int = 0         # 0 = whole data set


@dataclass
class TrainConfig:
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    data: DataConfig = field(default_factory=DataConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    seed: int = 1
    device: str = "auto"
    num_workers: int = 0
