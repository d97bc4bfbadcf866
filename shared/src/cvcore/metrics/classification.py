"""Top-k classification accuracy."""

from __future__ import annotations

from collections.abc import Sequence

import torch

__all__ = ["topk_accuracy"]


def topk_accuracy(logits: torch.Tensor, target: torch.Tensor, ks: Sequence[int] = (1,)) -> list[float]:
    """Percentage of rows whose target is among the ``k`` highest scores, for each ``k``.

    Args:
        logits: ``(N, C)`` scores.
        target: ``(N,)`` integer labels in ``[0, C)``.
        ks: the values of k, each in ``[1, C]``.

    Ties are broken as ``torch.topk`` breaks them. An empty batch gives NaN.
    """
    if logits.ndim != 2:
        raise ValueError(f"logits must be (N, C), got shape {tuple(logits.shape)}")
    if target.shape != (logits.shape[0],):
        raise ValueError(f"target must be (N,) = ({logits.shape[0]},), got {tuple(target.shape)}")
    num_classes = logits.shape[1]
    if any(k < 1 or k > num_classes for k in ks):
        raise ValueError(f"every k must be in [1, {num_classes}], got {list(ks)}")
    n = logits.shape[0]
    if n == 0:
        return [float("nan")] * len(ks)
    top = logits.topk(max(ks), dim=1).indices
    hits = top.eq(target.view(-1, 1))
    return [float(hits[:, :k].any(dim=1).float().sum()) * 100.0 / n for k in ks]
