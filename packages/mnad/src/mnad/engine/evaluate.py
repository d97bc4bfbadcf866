"""The official test loop (``Evaluate.py``, spec Sec. 7): frames in order, batch 1, a test
memory cloned from the trained items, carried across all test videos and updated with every
frame whose weighted regular score (E10) is below ``gamma``."""

from __future__ import annotations

import csv
import io
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

from cvcore.checkpoint import load_checkpoint
from cvcore.config import from_dict
from cvcore.errors import CheckpointError, DataError
from cvcore.io import atomic_write_text
from cvcore.progress import progress
from mnad.config import TrainConfig
from mnad.data.frames import ClipDataset
from mnad.data.labels import concat_labels
from mnad.functional import memory_update
from mnad.scores import (
    DEFAULT_GAMMA,
    DEFAULT_LAMBDA,
    align_labels,
    anomaly_scores,
    frame_auc,
    frame_mse,
    psnr,
    weighted_regular_score,
)

__all__ = ["MIN_MSE", "EvalResult", "FrameTable", "evaluate", "load_model"]

#: Floor of the per-frame MSE so that a perfect prediction gives PSNR 100 dB, not infinity.
MIN_MSE = 1e-10


@dataclass
class FrameTable:
    """Per-frame results, one row per scored frame (a small DataFrame-like of NumPy columns)."""

    video: np.ndarray  # (T,) str, video name
    frame: np.ndarray  # (T,) int, index of the scored (target) frame within its video
    psnr: np.ndarray  # (T,) float, (E8)
    dist: np.ndarray  # (T,) float, (E9)
    score: np.ndarray  # (T,) float, (E12), higher = more abnormal
    label: np.ndarray  # (T,) int, 1 abnormal / 0 normal / -1 unknown
    updated: np.ndarray  # (T,) bool, test memory updated with this frame (E10)

    COLUMNS = ("video", "frame", "psnr", "dist", "score", "label", "updated")

    def __len__(self) -> int:
        return len(self.score)

    def rows(self) -> list[dict[str, Any]]:
        return [{c: getattr(self, c)[i].item() for c in self.COLUMNS} for i in range(len(self))]

    def to_csv(self, path: str | os.PathLike[str]) -> Path:
        """Write atomically as CSV with a header."""
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(self.COLUMNS)
        for i in range(len(self)):
            w.writerow([self.video[i], int(self.frame[i]), f"{self.psnr[i]:.6f}", f"{self.dist[i]:.8f}",
                        f"{self.score[i]:.6f}", int(self.label[i]), int(self.updated[i])])
        return atomic_write_text(path, buf.getvalue())

    def select(self, video: str) -> FrameTable:
        m = self.video == video
        return FrameTable(*(getattr(self, c)[m] for c in self.COLUMNS))

    @property
    def videos(self) -> list[str]:
        _, first = np.unique(self.video, return_index=True)
        return [str(self.video[i]) for i in sorted(first)]


@dataclass
class EvalResult:
    """``auc`` (0..1, None without labels), per-frame table and the final test memory."""

    auc: float | None
    per_frame: FrameTable
    items: torch.Tensor | None


def _labels_for(dataset: ClipDataset, labels: Any) -> np.ndarray | None:
    if labels is None:
        return None
    if isinstance(labels, Mapping):
        full = concat_labels(labels, dataset.names)
    else:
        full = np.asarray(labels).reshape(-1)
    return align_labels(full, dataset.lengths, dataset.t_length)


@torch.no_grad()
def evaluate(
    model: nn.Module,
    dataset: ClipDataset,
    labels: Mapping[str, np.ndarray] | np.ndarray | Sequence[int] | None = None,
    *,
    lam: float | None = None,
    gamma: float | None = None,
    test_update: bool = True,
    auc: Literal["pooled", "per_video", "per-video"] = "pooled",
    items: torch.Tensor | None = None,
    device: str | torch.device | None = None,
) -> EvalResult:
    """Score every test frame and (with labels) compute the frame-level AUC.

    Args:
        model: an ``MNADPredictor`` / ``MNADReconstructor`` (put in eval mode here).
        dataset: test clips in video order (``dataset.t_length`` = the model's).
        labels: per-video full-length labels (``load_labels``) or all labels concatenated
            (pred: the first ``t_length - 1`` of each video are dropped, :func:`align_labels`).
        lam: (E12) weight; default 0.6 (pred) / 0.7 (recon); forced to 1 without memory.
        gamma: (E10) update threshold; default 0.01 (pred) / 0.015 (recon).
        test_update: update the test memory (official); False keeps the trained items.
        auc: ``"pooled"`` (paper) or ``"per_video"``.
        items: start items ``(M, C)``; default: the model's trained items (cloned, never written).
    """
    variant = getattr(model, "variant", "pred")
    lam = DEFAULT_LAMBDA[variant] if lam is None else lam
    gamma = DEFAULT_GAMMA[variant] if gamma is None else gamma
    memory = getattr(model, "memory", None)
    if memory is None:
        lam = 1.0  # no feature distance without memory: PSNR only
    dev = torch.device(device) if device is not None else next(model.parameters()).device
    model.eval()
    test_items = None
    if memory is not None:
        test_items = (memory.items if items is None else items).detach().clone().to(dev)
    y = _labels_for(dataset, labels)
    if y is not None and y.size != len(dataset):
        raise DataError(f"{y.size} labels for {len(dataset)} test frames")
    for name in dataset.short_videos:
        warnings.warn(f"video {name!r} is shorter than t_length={dataset.t_length}: no frames scored",
                      RuntimeWarning, stacklevel=2)
    n = len(dataset)
    mse, dist, upd = np.zeros(n), np.zeros(n), np.zeros(n, dtype=bool)
    from mnad.engine.train import split_sample

    for i in progress(range(n), total=n, desc="scoring"):
        x = dataset[i].unsqueeze(0).to(dev)
        inp, target = split_sample(x, variant, getattr(model, "channels", 3))
        out = model(inp, update_memory=False, items=test_items) if memory is not None else model(inp)
        mse[i] = max(float(frame_mse(out.frame, target)[0]), MIN_MSE)
        if memory is not None:
            dist[i] = float(out.compactness)
            if test_update and weighted_regular_score(out.frame, target) < gamma:
                test_items = memory_update(out.query, test_items, normalize=memory.normalize)
                upd[i] = True
    vids = dataset.sample_videos
    p = np.asarray(psnr(mse), dtype=np.float64).reshape(-1)
    scores = anomaly_scores(p, dist, video_ids=vids, lam=lam) if n else np.zeros(0)
    names = np.asarray(dataset.names, dtype=object)[vids] if n else np.zeros(0, dtype=object)
    table = FrameTable(names.astype(str), dataset.target_frames, p, dist, scores,
                       y.astype(np.int64) if y is not None else np.full(n, -1, np.int64), upd)
    value = frame_auc(scores, y, video_ids=vids, mode=auc.replace("-", "_")) if y is not None else None  # type: ignore[arg-type]
    return EvalResult(value, table, test_items)


def load_model(path: str | os.PathLike[str], device: str | torch.device = "cpu") -> tuple[nn.Module, TrainConfig]:
    """Rebuild a model from a checkpoint written by :func:`mnad.train` (weights-only load).

    Raises:
        CheckpointError: missing, truncated, foreign or incompatible file.
    """
    from mnad import __version__
    from mnad.engine.train import build_from_config

    ckpt = load_checkpoint(path, package="mnad", version=__version__, map_location=device)
    try:
        cfg = from_dict(TrainConfig, ckpt.get("config") or {})
    except (ValueError, TypeError) as exc:
        raise CheckpointError(f"checkpoint {path} has an invalid config: {exc}") from exc
    model = build_from_config(cfg)
    try:
        model.load_state_dict(ckpt["model"])
    except RuntimeError as exc:
        raise CheckpointError(f"checkpoint {path} does not fit its own config: {str(exc).splitlines()[0]}") from exc
    if model.memory is not None:
        model.memory.normalize = cfg.normalize
    return model.to(device).eval(), cfg
