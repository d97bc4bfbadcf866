"""Training on the photographs bundled with scikit-image: the demo and the recipe of the shipped weights.

Split (spec section 11.1): train on ``TINY_TRAIN``, evaluate on ``TINY_EVAL``. Recipe (spec
section 11.3): LR patch 24 (HR ``24 s``), batch 16, Adam lr 2e-3 with cosine decay per iteration
to 1e-5, h/v-flip + transpose, full-size FSRCNN (56/12/4) and official encoder.
"""

from __future__ import annotations

import dataclasses
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from pisr.config import TrainConfig
from pisr.data.pairs import ImageFolderPairs, PatchDataset
from pisr.data.photos import TINY_EVAL, TINY_TRAIN, photo_pairs

__all__ = ["PhotoRecipe", "photo_config", "run_photo_training"]


@dataclasses.dataclass
class PhotoRecipe:
    """Iteration budgets of :func:`run_photo_training` (0 skips a stage)."""

    scale: int = 2
    teacher_iters: int = 100
    student_iters: int = 300
    baseline_iters: int = 300
    lr_patch: int = 24
    batch_size: int = 16
    lr: float = 2e-3
    seed: int = 0


def photo_config(recipe: PhotoRecipe, iters: int, out_dir: str | None = None) -> TrainConfig:
    """The :class:`TrainConfig` of one stage: ``iters`` iterations (logged in epochs of <= 100), cosine per iteration."""
    epochs = max(1, math.ceil(iters / 100))
    return TrainConfig(scale=recipe.scale, patch_size=recipe.lr_patch * recipe.scale, batch_size=recipe.batch_size,
                       epochs=epochs, iters_per_epoch=math.ceil(iters / epochs), lr=recipe.lr, lr_min=1e-5,
                       schedule="iteration", seed=recipe.seed, device="cpu", out_dir=out_dir)


def load_photo_sets(scale: int, data_root: str | Path | None = None) -> tuple[ImageFolderPairs, ImageFolderPairs]:
    """``(train, eval)`` whole-image pairs: scikit-image photos, or ``<data_root>/{train,eval}/`` images."""
    if data_root is not None:
        root = Path(data_root)
        return ImageFolderPairs(root / "train", scale=scale), ImageFolderPairs(root / "eval", scale=scale)
    return (ImageFolderPairs(scale=scale, pairs=photo_pairs(TINY_TRAIN, scale)),
            ImageFolderPairs(scale=scale, pairs=photo_pairs(TINY_EVAL, scale)))


def run_photo_training(recipe: PhotoRecipe, *, data_root: str | Path | None = None,
                       log: Any = None, out_dir: str | Path | None = None) -> dict[str, Any]:
    """Train teacher -> PISR student (and a plain FSRCNN) on photos; evaluate bicubic / baseline / student.

    Returns:
        ``{"models": {...}, "metrics": {row: {"psnr", "ssim", "per_image"}}, "seconds": {...}, "eval": ds}``.
    """
    from pisr.engine import distill, train_baseline, train_teacher
    from pisr.metrics import evaluate

    train_ds, eval_ds = load_photo_sets(recipe.scale, data_root)
    s = recipe.scale
    patches = PatchDataset(train_ds.pairs(), s, recipe.lr_patch * s, repeat=64, augment=True)
    models: dict[str, torch.nn.Module] = {}
    seconds: dict[str, float] = {}

    def od(name: str) -> str | None:
        return str(Path(out_dir) / name) if out_dir is not None else None

    def stage(name: str, fn) -> None:
        t0 = time.process_time()
        models[name] = fn()
        seconds[name] = round(time.process_time() - t0, 1)
        if log:
            log(f"{name}: trained in {seconds[name]} CPU s")

    if recipe.teacher_iters > 0 and recipe.student_iters > 0:
        stage("teacher", lambda: train_teacher(photo_config(recipe, recipe.teacher_iters, od("teacher")), patches))
        stage("pisr_student", lambda: distill(models["teacher"], photo_config(recipe, recipe.student_iters, od("student")), patches))
    if recipe.baseline_iters > 0:
        stage("fsrcnn_baseline", lambda: train_baseline(photo_config(recipe, recipe.baseline_iters, od("baseline")), patches))
    metrics = {"bicubic": evaluate(None, {"tiny-eval": eval_ds}, s)["tiny-eval"]}
    if "fsrcnn_baseline" in models:
        metrics["fsrcnn_baseline"] = evaluate(models["fsrcnn_baseline"], {"tiny-eval": eval_ds}, s)["tiny-eval"]
    if "pisr_student" in models:
        metrics["pisr_student"] = evaluate(models["pisr_student"].to_fsrcnn(), {"tiny-eval": eval_ds}, s)["tiny-eval"]
    return {"models": models, "metrics": metrics, "seconds": seconds, "eval": eval_ds}


def comparison_crop(eval_ds: ImageFolderPairs, models: dict[str, torch.nn.Module], scale: int, *, index: int = 0,
                    size: int = 96) -> tuple[list[np.ndarray], list[str]]:
    """Centre crops (uint8 Y) of HR, bicubic and each model's SR of eval image ``index``."""
    from pisr.data.imresize import imresize
    from pisr.inference import super_resolve_y

    lr, hr, name = eval_ds[index]
    H, W = hr.shape[-2:]
    y0, x0 = max(0, (H - size) // 2), max(0, (W - size) // 2)

    def crop(a: np.ndarray) -> np.ndarray:
        return np.clip(np.round(a[y0:y0 + size, x0:x0 + size] * 255), 0, 255).astype(np.uint8)

    tiles = [crop(hr[0].numpy()), crop(imresize(lr[0].double().numpy(), float(scale)))]
    labels = [f"HR {name}", "bicubic"]
    for label, m in models.items():
        tiles.append(crop(super_resolve_y(m, lr[0])))
        labels.append(label)
    return tiles, labels
