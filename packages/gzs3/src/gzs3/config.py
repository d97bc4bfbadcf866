"""Dataclass configuration of training and evaluation (TOML recipes in ``gzs3/configs``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Literal

__all__ = ["DataConfig", "EvalConfig", "LossConfig", "ModelConfig", "OptimConfig", "TrainConfig", "preset_path"]


@dataclass
class DataConfig:
    dataset: Literal["voc", "context", "synthetic"] = "voc"
    # "spnet" (VOC, 5 unseen): train on all images with background and unseen pixels ignored,
    # background ignored at test time and never predicted (spec §6, §3.22)
    setting: Literal["zs3", "spnet"] = "zs3"
    root: str = ""  # VOC2012 folder / Context folder (also --data-root)
    image_root: str = ""  # Context only: folder the list's image paths are relative to
    sbd_root: str = ""  # VOC only: raw SBD benchmark_RELEASE (cls/*.mat) instead of SegmentationClassAug
    labels_file: str = "59_labels.pth"
    embeddings: str = ""  # class-embedding table (.pkl/.npy/.pt); required for voc/context;
    # "a.pkl,b.pkl": each max-norm scaled, first num_classes rows, concatenated (SPNet setting: word2vec + fastText)
    n_unseen: int = 2
    split_protocol: Literal["joem", "zs3"] = "joem"
    train_split: str = ""  # default: train_aug (VOC) / train (Context)
    val_split: str = "val"
    crop: int = 312
    base_size: int = 0  # random-scale reference of the short side (0 = crop; 512 in the SPNet setting)
    scale_min: float = 0.5
    scale_max: float = 1.5  # 2.0 for Context
    synthetic_train: int = 96  # synthetic set sizes and image side
    synthetic_val: int = 24
    synthetic_size: int = 64


@dataclass
class ModelConfig:
    arch: Literal["deeplabv3plus", "deeplabv2"] = "deeplabv3plus"  # deeplabv2 = SPNet setting (OS 8, 600-d v)
    backbone: Literal["resnet101", "resnet50", "tiny"] = "resnet101"
    output_stride: Literal[8, 16] = 16  # deeplabv3plus only (DeepLab-V2 is always OS 8)
    width: int = 16  # tiny backbone only
    feature_dim: int = 0  # 0 = the architecture default (256 V3+, 600 V2; tiny: width / 4 width)
    backbone_weights: str = ""  # torchvision-layout ImageNet state dict (fc ignored)
    freeze_backbone_bn: bool = True
    semantic_hidden: int = 0


@dataclass
class OptimConfig:
    epochs: int = 50
    batch_size: int = 32  # global, over all ranks
    lr: float = 2.5e-4  # backbone; ASPP/decoder/classifier use lr * head_lr_mult
    head_lr_mult: float = 10.0
    gen_lr: float = 2e-4  # Adam, semantic encoder (constant)
    weight_decay: float = 1e-4
    momentum: float = 0.9
    poly_power: float = 0.9
    max_steps_per_epoch: int = 0  # 0 = the whole epoch


@dataclass
class LossConfig:
    ratio: float = 0.25
    temperature: float = 5.0
    alpha: float = 0.1
    sc_reduction: Literal["rows", "rows_sq"] = "rows"


@dataclass
class EvalConfig:
    calibration: Literal["apollonius", "none", "stacking"] = "apollonius"
    sigma: float = 0.5
    gamma: float = 0.0
    mode: Literal["top2", "full"] = "top2"
    nan_mode: Literal["zero", "skip"] = "zero"


@dataclass
class TrainConfig:
    seed: int = 1234
    eval_at_end: bool = True
    amp: bool = False  # mixed precision: autocast bfloat16 on CPU, float16 + GradScaler on CUDA
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)


def preset_path(name: str) -> Path:
    """Path of a shipped recipe, e.g. ``preset_path("voc_deeplabv3plus_zs3")``."""
    p = Path(str(resources.files("gzs3") / "configs" / f"{name}.toml"))
    if not p.is_file():
        raise FileNotFoundError(f"no preset {name!r} in {p.parent}")
    return p
