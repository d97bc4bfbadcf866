"""Training configuration (spec section 6) as a dataclass readable from TOML with ``--set``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

__all__ = ["TrainConfig"]


@dataclass
class TrainConfig:
    """One training stage. Defaults = the official DIV2K recipe (spec section 6).

    ``patch_size`` is the HR patch side (LR patch = ``patch_size // scale``). ``schedule`` says
    whether the cosine decay is stepped per epoch (official) or per iteration (short runs).
    """

    scale: int = 2
    patch_size: int = 192
    batch_size: int = 16
    epochs: int = 1000
    iters_per_epoch: int = 1000
    lr: float = 1e-3
    lr_min: float = 1e-5
    betas: tuple[float, float] = (0.9, 0.999)
    schedule: Literal["epoch", "iteration"] = "epoch"
    # "official": step the per-epoch cosine schedule *before* each training pass, as the official
    # loop (validate -> scheduler.step -> save -> train) does, so epoch 0 trains at lr(1).
    compat: Literal["clean", "official"] = "clean"
    seed: int | None = None
    device: str = "auto"
    num_workers: int = 0
    val_every: int = 1
    out_dir: str | None = None
    resume: str | None = None
    # architecture (FSRCNN d, s_c, m; official 56/12/4; teacher code channels k)
    d: int = 56
    s: int = 12
    m: int = 4
    k: int = 1
    # teacher loss (E4)
    lambda_rec: float = 1.0
    lambda_imit: float = 1e-4
    # student loss (E6, E7)
    lambda_distill: float = 1e-6
    pdf: Literal["laplace", "gaussian"] = "laplace"
    variance_mode: Literal["none", "channel", "spatial", "global"] = "none"
    distill_layers: tuple[str, ...] = ("expanding",)
    init_from_teacher: bool = True
    add_constant: bool = True
    # data
    hr_dir: str | None = None
    lr_dir: str | None = None
    data_root: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.scale < 1:
            raise ValueError(f"scale must be >= 1, got {self.scale}")
        if self.patch_size % self.scale:
            raise ValueError(f"patch_size {self.patch_size} must be a multiple of scale {self.scale}")
        for name in ("batch_size", "epochs", "iters_per_epoch"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not self.lr > 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")
