"""Dataclass configs of the three stages (spec §6); TOML recipes in ``bap/configs/``."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["SEG_LOSSES", "ClassifierConfig", "PseudoLabelConfig", "SegConfig"]

SEG_LOSSES = ("nal", "ce-crf", "ce-ret", "baseline", "entropy", "bootstrap")


@dataclass
class ClassifierConfig:
    """Stage 1 (spec §6 row 1): VGG-16 + BAP, batch 20, lr 1e-3, step x0.1 at 5000, 8000 iterations."""

    backbone: str = "vgg16"
    width: int = 32  # tiny backbone only
    num_classes: int = 21
    pooling: str = "bap"
    grid_size: int = 4
    bins: tuple[int, int] = (2, 2)
    roi_align_corners: bool = False
    iters: int = 8000
    batch_size: int = 20
    lr: float = 1e-3
    momentum: float = 0.9
    weight_decay: float = 5e-4
    milestones: list[int] = field(default_factory=lambda: [5000])
    lr_gamma: float = 0.1
    crop: int = 321
    scale_range: tuple[float, float] = (0.5, 1.5)
    jitter: bool = True
    split: str = "train_aug"
    seed: int = 13
    save_every: int = 1000
    log_every: int = 20
    backbone_weights: str = ""
    amp: bool = False  # torch.autocast: bfloat16 on CPU, float16 + GradScaler on CUDA

    def __post_init__(self) -> None:
        if self.pooling not in ("bap", "gap"):
            raise ValueError(f"pooling must be 'bap' or 'gap', got {self.pooling!r}")
        if self.iters < 0 or self.batch_size < 1:
            raise ValueError("iters must be >= 0 and batch_size >= 1")


@dataclass
class PseudoLabelConfig:
    """Stage 2 (spec §6 row 2): N = 1, t = 0.99, CRF [4, 55, 3, 3, 3], 10 iterations."""

    split: str = "train_aug"
    bg_threshold: float = 0.99
    crf: tuple[float, float, float, float, float] = (4.0, 55.0, 3.0, 3.0, 3.0)
    crf_iters: int = 10
    crf_backend: str = "lattice"
    compat: str = "default"


@dataclass
class SegConfig:
    """Stage 3 (spec §6 row 3): DeepLab-LargeFOV cosine, batch 20, lr 1e-3 poly 0.9, 23 805 iterations, NAL."""

    arch: str = "largefov"
    backbone: str = "vgg16"
    width: int = 32
    num_classes: int = 21
    loss: str = "nal"
    temperature: float = 20.0
    gamma: float = 7.0
    lam: float = 0.1  # weight of L_wce (nal) or of the entropy / bootstrapping term
    beta: float = 0.95  # bootstrapping target weight (not published; Reed et al.'s soft value)
    gt_mask_list: str = ""  # semi-supervised: ids (one per line) whose GT mask replaces Y_crf and Y_ret
    detach_confidence: bool = False
    compat: str = "default"
    iters: int = 23805
    batch_size: int = 20
    lr: float = 1e-3
    momentum: float = 0.9
    weight_decay: float = 5e-4
    power: float = 0.9
    crop: int = 321
    scale_range: tuple[float, float] = (0.5, 1.5)
    jitter: bool = True
    split: str = "train_aug"
    crf_dir: str = "Generation/Ycrf"
    ret_dir: str = "Generation/Yret"
    seed: int = 13
    save_every: int = 1000
    log_every: int = 20
    backbone_weights: str = ""
    amp: bool = False  # torch.autocast: bfloat16 on CPU, float16 + GradScaler on CUDA

    def __post_init__(self) -> None:
        if self.loss not in SEG_LOSSES:
            raise ValueError(f"loss must be one of {', '.join(SEG_LOSSES)}, got {self.loss!r}")
        if self.arch not in ("largefov", "deeplabv2"):
            raise ValueError(f"arch must be largefov or deeplabv2, got {self.arch!r}")
