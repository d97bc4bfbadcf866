"""Full-resolution evaluation over all classes (spec §3.17, §7)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from cvcore.progress import progress
from gzs3.joint_embedding import JointEmbeddingModel
from gzs3.metrics import GZSEvaluator

__all__ = ["Decision", "evaluate"]


@dataclass(frozen=True)
class Decision:
    """One decision rule to score: ``calibration`` in apollonius / none / stacking."""

    name: str
    calibration: str = "apollonius"
    sigma: float = 0.5
    gamma: float = 0.0
    mode: str = "top2"


@torch.no_grad()
def evaluate(model: JointEmbeddingModel, dataset: Any, decisions: Sequence[Decision], *,
             device: torch.device | str = "cpu", nan_mode: str = "zero", save_pred: Any = None) -> dict[str, Any]:
    """Score every decision rule in one pass (distances computed once per image, batch 1).

    Returns ``{decision.name: gzs_scores(...)}`` plus ``"num_images"``.
    """
    model.eval()
    evals = {d.name: GZSEvaluator(model.num_classes, model.seen, model.unseen, nan_mode) for d in decisions}  # type: ignore[arg-type]
    n = 0
    for i in progress(range(len(dataset)), desc="eval", total=len(dataset)):
        image, label = dataset[i]
        d = model.distances(image[None].to(device))
        for dec in decisions:
            pred = model.decide(d, dec.calibration, dec.sigma, dec.gamma, dec.mode)[0]  # type: ignore[arg-type]
            evals[dec.name].update(pred.cpu(), label)
            if save_pred is not None and dec is decisions[0]:
                save_pred(i, pred.cpu())
        n += 1
    out: dict[str, Any] = {name: ev.compute() for name, ev in evals.items()}
    out["num_images"] = n
    return out
