"""Retrieval evaluation of the identity descriptor (spec (I12), section 7)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from isgan.data import test_loader
from isgan.model import ISGAN

__all__ = ["evaluate", "extract"]


def extract(model: ISGAN, records: Any, *, height: int, width: int, flip: bool = True,
            device: torch.device | str = "cpu", num_workers: int = 0):
    """``normalize(φ_R(x) + φ_R(flip(x)))`` for every record: ``(N, 8 * feat_id)``, pids, camids, paths."""
    from cvcore.reid import extract_features

    loader = test_loader(records, height=height, width=width, num_workers=num_workers)
    return extract_features(model, loader, flip=flip, flip_reduce="sum", l2_normalize=True, device=device)


def evaluate(model: ISGAN, dataset: Any, *, height: int, width: int, flip: bool = True, rerank: bool = False,
             device: torch.device | str = "cpu", num_workers: int = 0) -> dict[str, Any]:
    """mAP and CMC rank-1/3/5/10 (Market protocol, Euclidean distance) on query x gallery.

    Returns a dict with values in [0, 1] plus the distance matrix under ``"distmat"``.
    """
    from cvcore.reid import evaluate_rank, pairwise_distance, re_ranking

    qf, qp, qc, _ = extract(model, dataset.query, height=height, width=width, flip=flip, device=device,
                            num_workers=num_workers)
    gf, gp, gc, _ = extract(model, dataset.gallery, height=height, width=width, flip=flip, device=device,
                            num_workers=num_workers)
    dist = pairwise_distance(qf, gf, "euclidean").numpy()
    if rerank:
        dist = re_ranking(dist, pairwise_distance(qf, qf, "euclidean").numpy(),
                          pairwise_distance(gf, gf, "euclidean").numpy())
    res = evaluate_rank(dist, qp, gp, qc, gc, protocol="market")
    out = {"mAP": float(res.mAP), "mINP": float(res.mINP)}
    out.update({f"rank{r}": res.rank(r) for r in (1, 3, 5, 10)})
    out["num_query"], out["num_gallery"] = int(len(qp)), int(len(gp))
    out["distmat"] = np.asarray(dist)
    return out
