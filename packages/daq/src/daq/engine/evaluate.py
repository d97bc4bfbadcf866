"""Evaluation: top-1/top-5 accuracy (%) and mean cross-entropy, sample-weighted (spec §7)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from cvcore.errors import DataError

__all__ = ["evaluate"]


@torch.no_grad()
def evaluate(model: nn.Module, loader: Iterable[Any], device: torch.device | str = "cpu") -> dict[str, float]:
    """Eval-mode pass (hard quantizers, BN running statistics) over ``loader``.

    Returns:
        ``{"top1", "top5", "loss", "n"}``; accuracies in percent; top-5 is top-min(5, C).
        A last batch smaller than the batch size counts with its true size; under DDP the sums
        are reduced over ranks.

    Raises:
        DataError: empty data set (instead of NaN); non-finite logits.
    """
    from cvcore.distributed import all_reduce_sum

    was_training = model.training
    model.eval()
    sums = torch.zeros(4, dtype=torch.float64)  # n, correct1, correct5, loss
    try:
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            logits = model(x)
            if not torch.isfinite(logits).all():
                raise DataError("the model produced non-finite outputs (NaN/inf) during evaluation")
            k = min(5, logits.shape[1])
            top = logits.topk(k, dim=1).indices
            hit = top.eq(y.view(-1, 1))
            sums += torch.tensor([len(y), hit[:, :1].any(1).sum().item(), hit.any(1).sum().item(),
                                  F.cross_entropy(logits, y, reduction="sum").item()], dtype=torch.float64)
    finally:
        model.train(was_training)
    sums = all_reduce_sum(sums)
    n = float(sums[0])
    if n == 0:
        raise DataError("the evaluation set is empty")
    return {"top1": 100.0 * float(sums[1]) / n, "top5": 100.0 * float(sums[2]) / n,
            "loss": float(sums[3]) / n, "n": int(n)}
