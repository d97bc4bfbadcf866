"""Top-1/top-5 accuracy in percent (§7): eval mode, hard quantizers, BN running statistics."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from cvcore.distributed import reduce_dict
from cvcore.metrics import topk_accuracy

__all__ = ["evaluate"]


@torch.no_grad()
def evaluate(model: nn.Module, loader: Iterable[Any], device: torch.device | str = "cpu") -> dict[str, float]:
    """``{"top1", "top5", "loss", "n"}``: 100·(correct arg-max)/N, summed over ranks under DDP.

    Raises:
        ValueError: if the loader is empty.
    """
    was = model.training
    model.eval()
    correct1 = correct5 = loss_sum = 0.0
    n = 0
    try:
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            out = model(x)
            loss_sum += float(F.cross_entropy(out, y, reduction="sum"))
            a1, a5 = topk_accuracy(out, y, (1, min(5, out.shape[1])))
            correct1 += a1 * y.numel() / 100.0
            correct5 += a5 * y.numel() / 100.0
            n += y.numel()
    finally:
        model.train(was)
    tot = reduce_dict({"c1": correct1, "c5": correct5, "loss": loss_sum, "n": float(n)}, average=False)
    if tot["n"] == 0:
        raise ValueError("evaluation loader yielded no samples")
    return {"top1": 100.0 * tot["c1"] / tot["n"], "top5": 100.0 * tot["c5"] / tot["n"],
            "loss": tot["loss"] / tot["n"], "n": int(tot["n"])}
