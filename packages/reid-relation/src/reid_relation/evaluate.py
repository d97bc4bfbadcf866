"""Evaluation: descriptors (R10), squared Euclidean distance, CMC/mAP/mINP, optional re-ranking."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader

from cvcore.reid.data import ImageDataset, ImageRecord, ReIDDataset
from cvcore.reid.features import extract_features
from cvcore.reid.metrics import evaluate_rank, pairwise_distance
from cvcore.reid.reranking import re_ranking
from cvcore.reid.transforms import build_test_transform
from reid_relation.config import EvalConfig
from reid_relation.model import PartsView, RelationNet

__all__ = ["evaluate", "extract"]


def extract(model: RelationNet, records: list[ImageRecord], height: int, width: int, *, flip: bool = True,
            descriptor: str = "all", batch_size: int = 64, device: str | torch.device = "cpu",
            workers: int = 0) -> tuple[torch.Tensor, np.ndarray, np.ndarray, list[str]]:
    """Descriptors of ``records``: ``(N, D)`` features (L2-normalised), pids, camids, paths."""
    loader = DataLoader(ImageDataset(records, build_test_transform(height, width)), batch_size=batch_size,
                        num_workers=workers)
    return extract_features(PartsView(model, descriptor), loader, flip=flip, device=device)


def evaluate(model: RelationNet, dataset: ReIDDataset, height: int = 384, width: int = 128,
             cfg: EvalConfig | None = None, *, batch_size: int = 64, device: str | torch.device = "cpu",
             workers: int = 0, return_distmat: bool = False) -> dict[str, Any]:
    """Market-style (or CUHK03-classic) metrics of ``model`` on ``dataset.query`` / ``.gallery``.

    Returns ``{"rank1", "rank5", "rank10", "rank20", "mAP", "mINP", "num_valid", "num_invalid",
    "protocol"}`` (plus ``"rerank": {...}`` with ``cfg.rerank``; ``"distmat"`` on request).
    Queries whose identity has no gallery image under another camera are skipped and counted in
    ``num_invalid``.
    """
    cfg = cfg or EvalConfig()
    qf, qp, qc, _ = extract(model, dataset.query, height, width, flip=cfg.flip, descriptor=cfg.descriptor,
                            batch_size=batch_size, device=device, workers=workers)
    gf, gp, gc, _ = extract(model, dataset.gallery, height, width, flip=cfg.flip, descriptor=cfg.descriptor,
                            batch_size=batch_size, device=device, workers=workers)
    dist = pairwise_distance(qf, gf, "sqeuclidean").numpy()
    kw = dict(protocol=cfg.protocol, separate_cameras=cfg.separate_cameras, num_repeats=cfg.num_repeats,
              seed=cfg.seed)
    out: dict[str, Any] = evaluate_rank(dist, qp, gp, qc, gc, **kw).to_dict()
    if cfg.rerank:
        rr = re_ranking(dist, pairwise_distance(qf, qf).numpy(), pairwise_distance(gf, gf).numpy(),
                        cfg.k1, cfg.k2, cfg.lambda_value)
        out["rerank"] = evaluate_rank(rr, qp, gp, qc, gc, **kw).to_dict()
    if return_distmat:
        out["distmat"] = dist
    return out
