"""Stateless memory operations of MNAD (paper Sec. 3.2, spec equations E1-E6).

Notation: ``N`` queries (``B*h*w``, row order batch, row, col), ``C`` feature channels,
``M`` memory items. Queries and items are unit vectors along ``C``.
All functions are vectorised: no Python loop over queries or items.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = [
    "compactness_loss",
    "apply_update",
    "flatten_queries",
    "item_sums",
    "memory_read",
    "memory_scores",
    "memory_update",
    "nearest_items",
    "separateness_loss",
]

#: ``F.normalize`` epsilon used for queries and items (E1, E4).
NORM_EPS = 1e-12
#: Triplet margin of the separateness loss (E6); ``TripletMarginLoss(margin=1.0)``.
SEPARATENESS_MARGIN = 1.0
#: ``TripletMarginLoss`` default epsilon added inside the pairwise distance (E6).
TRIPLET_EPS = 1e-6


def flatten_queries(feat: Tensor) -> Tensor:
    """(E1) L2-normalise the encoder output along channels and flatten it.

    Args:
        feat: ``(B, C, h, w)`` encoder output.

    Returns:
        ``(B*h*w, C)`` unit queries, rows ordered (batch, row, col).
    """
    if feat.ndim != 4:
        raise ValueError(f"expected a (B, C, h, w) feature map, got shape {tuple(feat.shape)}")
    q = F.normalize(feat, dim=1, eps=NORM_EPS)
    return q.permute(0, 2, 3, 1).reshape(-1, feat.shape[1])


def memory_scores(q: Tensor, items: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """(E2) Cosine similarities and the two softmaxes (temperature 1).

    Args:
        q: ``(N, C)`` unit queries.
        items: ``(M, C)`` unit items.

    Returns:
        ``S`` ``(N, M)``; ``W_read`` = softmax over items (rows sum to 1);
        ``V_upd`` = softmax over all ``N`` queries of the batch (columns sum to 1).
    """
    s = q @ items.t()
    return s, F.softmax(s, dim=1), F.softmax(s, dim=0)


def nearest_items(w_read: Tensor, k: int = 1) -> Tensor:
    """Indices ``(N, k)`` of the ``k`` nearest items, by ``topk`` on the softmaxed scores
    (official order; identical to ``topk`` on ``S``)."""
    return torch.topk(w_read, k, dim=1).indices


def memory_read(q: Tensor, items: Tensor) -> tuple[Tensor, Tensor]:
    """(E3) Read: ``p_hat_k = sum_m W_read[k, m] p_m``; returns ``([q ; p_hat] (N, 2C), W_read)``.

    The read weights are detached and the items carry no gradient (official ``Memory.read``):
    the only gradient path through the read is the query half of the concatenation.
    """
    _, w, _ = memory_scores(q, items)
    read = w.detach() @ items.detach()
    return torch.cat((q, read), dim=1), w


def memory_update(
    q: Tensor, items: Tensor, *, normalize: Literal["all", "assigned"] = "all", nearest: Tensor | None = None
) -> Tensor:
    """(E4) Update every item with the queries whose nearest item it is, vectorised.

    ``v'[k, m] = V_upd[k, m] / max V_upd[:, m]`` (``normalize="all"``, the official code) or the
    max over the queries assigned to ``m`` only (``"assigned"``, the paper);
    ``p_m <- normalise(p_m + sum_{k: n(k)=m} v'[k, m] q_k)``. Items no query chose stay unchanged.

    The softmax over queries cancels in the ratio: ``V[k, m] / max_k' V[k', m] =
    exp(S[k, m] - max_k' S[k', m])``, so no column softmax is formed; the per-item sums are one
    product with a sparse weight matrix (no loop over items or queries).

    Args:
        q: ``(N, C)`` unit queries (all queries of the batch).
        items: ``(M, C)`` unit items (the *old* items).
        nearest: optional ``(N,)`` nearest-item indices (default: ``topk`` of the softmax over items).

    Returns:
        ``(M, C)`` new unit items, detached (``requires_grad=False``).
    """
    if normalize not in ("all", "assigned"):
        raise ValueError(f"normalize must be 'all' or 'assigned', got {normalize!r}")
    with torch.no_grad():
        q = q.detach()
        items = items.detach()
        # (M, C) x (C, N), viewed as (N, M): for M << N the faster GEMM orientation on CPU
        s = (items @ q.t()).t()
        if nearest is None:
            nearest = nearest_items(F.softmax(s, dim=1))[:, 0]
        return apply_update(q, items, s, nearest, normalize=normalize)


def apply_update(q: Tensor, items: Tensor, s: Tensor, nearest: Tensor, *,
                 normalize: Literal["all", "assigned"] = "all") -> Tensor:
    """The aggregation step of (E4) from precomputed similarities ``s`` ``(N, M)`` and nearest
    items ``(N,)``: ``normalise(P + sum of weighted assigned queries)``, ``(M, C)``."""
    m = items.shape[0]
    s_near = s.gather(1, nearest[:, None])[:, 0]  # S[k, n(k)]
    if normalize == "all":
        ref = s.amax(dim=0)  # max over all N queries of the batch
    else:
        ref = torch.full((m,), -torch.inf, dtype=s.dtype, device=s.device)
        ref = ref.scatter_reduce(0, nearest, s_near, reduce="amax")  # max over U_m
    w = torch.exp(s_near - ref[nearest])  # = V_upd[k, n(k)] / max V_upd[:, n(k)]
    delta = item_sums(q, w, nearest, m, method="sparse" if q.device.type == "cpu" else "matmul")
    return F.normalize(items + delta, dim=1, eps=NORM_EPS)


def item_sums(q: Tensor, w: Tensor, nearest: Tensor, m: int, *,
              method: Literal["sparse", "matmul"] = "sparse") -> Tensor:
    """``(M, C)`` per-item sums ``sum_{k: n(k)=m} w_k q_k`` of ``(N, C)`` rows with ``(N,)`` weights.

    Both methods multiply ``Q`` by the ``(M, N)`` weight matrix that is non-zero only at
    ``(n(k), k)``. ``"sparse"`` holds it as a sparse COO tensor (one pass over the queries and no
    ``(N, C)`` temporary: the faster on CPU); ``"matmul"`` forms it densely (used on GPUs, where
    it is one deterministic GEMM).
    """
    n = q.shape[0]
    cols = torch.arange(n, device=q.device)
    if method == "sparse":
        weights = torch.sparse_coo_tensor(torch.stack((nearest, cols)), w, (m, n), check_invariants=False)
        return torch.sparse.mm(weights, q)
    if method == "matmul":
        weights = q.new_zeros(m, n)
        weights.index_put_((nearest, cols), w)
        return weights @ q
    raise ValueError(f"method must be 'sparse' or 'matmul', got {method!r}")


def compactness_loss(q: Tensor, items: Tensor, nearest: Tensor | None = None) -> Tensor:
    """(E5) ``MSE(Q, P[n(.)])`` = mean over ``N*C`` of squared differences; items are constants.

    Args:
        q: ``(N, C)`` unit queries. items: ``(M, C)``. nearest: optional ``(N,)`` indices ``n(k)``.
    """
    if nearest is None:
        nearest = nearest_items(memory_scores(q, items)[1])[:, 0]
    return F.mse_loss(q, items.detach()[nearest])


def separateness_loss(q: Tensor, items: Tensor, top2: Tensor | None = None) -> Tensor:
    """(E6) Triplet loss with the nearest (positive) and second-nearest (negative) item.

    ``mean_k max(0, ||q_k - p_n + eps|| - ||q_k - p_n2 + eps|| + 1)`` with ``eps = 1e-6``
    (``TripletMarginLoss(margin=1.0)`` defaults); items are constants. Needs ``M >= 2``.

    Args:
        q: ``(N, C)``. items: ``(M, C)``. top2: optional ``(N, 2)`` nearest/second-nearest indices.
    """
    if items.shape[0] < 2:
        raise ValueError("the separateness loss needs at least two memory items")
    if top2 is None:
        top2 = nearest_items(memory_scores(q, items)[1], 2)
    p = items.detach()
    return F.triplet_margin_loss(
        q, p[top2[:, 0]], p[top2[:, 1]], margin=SEPARATENESS_MARGIN, p=2, eps=TRIPLET_EPS
    )
