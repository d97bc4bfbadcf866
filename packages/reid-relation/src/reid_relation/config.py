"""Dataclass configs (TOML + ``--set``) for training and evaluation; defaults = the paper's recipe."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["DataConfig", "EvalConfig", "ModelConfig", "OptimConfig", "TrainConfig", "DATASETS"]

DATASETS = ("market1501", "dukemtmc", "cuhk03-labeled", "cuhk03-detected", "openreid", "synthetic")


@dataclass
class DataConfig:
    dataset: str = "market1501"
    root: str = ""
    height: int = 384
    width: int = 128
    batch_size: int = 64
    num_instances: int = 4
    sampler: str = "anchor"  # RRID TripletBatchSampler
    erasing: str = "rrid"  # rrid | zhong | none
    official_erasing_offset: bool = False
    holdout_val: int = 0  # 0 = combine_trainval (the paper); official default holds out 100 ids
    workers: int = 0
    test_batch_size: int = 64
    cuhk03_layout: str = "market"  # market (CUHK03-NP folders) | mat (cuhk-03.mat + protocol files)
    cuhk03_protocol: str = "new"  # new (767/700) | classic (20 splits of 1,367/100)
    cuhk03_split: int = 0  # classic split 0..19


@dataclass
class ModelConfig:
    backbone: str = "resnet50"
    width: int = 64
    feat_dim: int = 256
    last_stride: int = 1
    weights: str = "none"  # none | imagenet | PATH (torchvision state dict)


@dataclass
class OptimConfig:
    epochs: int = 80
    lr: float = 0.01  # new layers
    backbone_lr: float = 0.001  # base.*
    milestones: list[int] = field(default_factory=lambda: [40, 60])
    gamma: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 5e-4
    margin: float = 1.2
    ce_weight: float = 2.0
    label_smoothing: float = 0.0
    max_steps_per_epoch: int = 0  # 0 = the whole epoch (for smoke runs)


@dataclass
class TrainConfig:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    seed: int = 0
    device: str = "auto"
    amp: bool = False
    output_dir: str = "runs/reid-relation"
    eval_every: int = 0  # epochs; 0 = only at the end


@dataclass
class EvalConfig:
    protocol: str = "market"  # market | cuhk03_classic
    separate_cameras: bool = False
    flip: bool = True
    rerank: bool = False
    k1: int = 20
    k2: int = 6
    lambda_value: float = 0.3
    num_repeats: int = 10
    seed: int = 0
    descriptor: str = "all"
