"""Distances and retrieval metrics: CMC, mAP and mINP (reid_common spec §2.5-2.6).

Market-1501 protocol per query: gallery entries with the query's pid *and* camera are removed
(junk pid -1 is removed at parse time; distractors, pid 0, stay as negatives); the CMC counts the
first correct match, AP averages precision at every correct match, INP = R / (rank of the last
correct match + 1) (fast-reid's mINP).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from cvcore.reid.reranking import re_ranking

__all__ = ["RankResult", "evaluate_rank", "pairwise_distance", "re_ranking"]

METRICS = ("sqeuclidean", "euclidean", "cosine")


def pairwise_distance(x: Any, y: Any, metric: str = "sqeuclidean") -> Any:
    """Distance matrix ``(M, D), (N, D) -> (M, N)``; numpy in → numpy out, torch in → torch out.

    ``sqeuclidean`` = ``|x|^2 + |y|^2 - 2 x y^T`` (torchreid's "euclidean", RRID's evaluator),
    ``euclidean`` = its square root (clamped at 0), ``cosine`` = ``1 - x̂ ŷ^T``.
    """
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")
    as_np = not isinstance(x, torch.Tensor)
    xt = torch.as_tensor(np.asarray(x) if as_np else x)
    yt = torch.as_tensor(np.asarray(y) if as_np else y)
    if not xt.is_floating_point():
        xt = xt.float()
    yt = yt.to(xt.dtype)
    if xt.ndim != 2 or yt.ndim != 2 or xt.shape[1] != yt.shape[1]:
        raise ValueError(f"expected (M, D) and (N, D) features, got {tuple(xt.shape)} and {tuple(yt.shape)}")
    if metric == "cosine":
        xn = torch.nn.functional.normalize(xt, dim=1)
        yn = torch.nn.functional.normalize(yt, dim=1)
        d = 1.0 - xn @ yn.t()
    else:
        d = xt.pow(2).sum(1, keepdim=True) + yt.pow(2).sum(1).unsqueeze(0)
        d = d.addmm_(xt, yt.t(), beta=1.0, alpha=-2.0)
        if metric == "euclidean":
            d = d.clamp_(min=0).sqrt_()
    return d.numpy() if as_np else d


@dataclass
class RankResult:
    """``cmc[r]`` = fraction of valid queries with a correct match within the top ``r + 1``."""

    cmc: np.ndarray
    mAP: float
    mINP: float
    num_valid: int
    num_invalid: int
    ap: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))
    protocol: str = "market"

    def rank(self, r: int) -> float:
        """CMC at rank ``r`` (1-based)."""
        return float(self.cmc[min(r, len(self.cmc)) - 1])

    def to_dict(self) -> dict[str, float | int | str]:
        """Rank-1/5/10/20, mAP, mINP and the query counts as plain numbers."""
        out: dict[str, Any] = {f"rank{r}": self.rank(r) for r in (1, 5, 10, 20)}
        out.update(mAP=float(self.mAP), mINP=float(self.mINP), num_valid=self.num_valid,
                   num_invalid=self.num_invalid, protocol=self.protocol)
        return out


def _check(distmat: Any, q_pids: Any, g_pids: Any, q_camids: Any, g_camids: Any) -> tuple[np.ndarray, ...]:
    d = distmat.detach().cpu().numpy() if isinstance(distmat, torch.Tensor) else np.asarray(distmat)
    qp, gp, qc, gc = (np.asarray(a.cpu() if isinstance(a, torch.Tensor) else a).astype(np.int64).ravel()
                      for a in (q_pids, g_pids, q_camids, g_camids))
    if d.ndim != 2 or d.shape != (qp.size, gp.size) or qc.size != qp.size or gc.size != gp.size:
        raise ValueError(f"distmat {d.shape} does not fit {qp.size} query and {gp.size} gallery labels")
    if d.size and not np.all(np.isfinite(d)):
        raise ValueError("distance matrix contains NaN or infinity")
    return d, qp, gp, qc, gc


def _row_ranks(row: np.ndarray, pos: np.ndarray, neg: np.ndarray) -> np.ndarray:
    """0-based ranks of the positives in the kept list (stable: ties by gallery index)."""
    dp, dn = row[pos], row[neg]
    ip = np.flatnonzero(pos)
    o = np.lexsort((ip, dp))
    dp, ip = dp[o], ip[o]
    lo = np.searchsorted(dp, dn, side="left")
    hi = np.searchsorted(dp, dn, side="right")
    if np.any(lo != hi):  # a negative ties with a positive: order by gallery index
        i_n = np.flatnonzero(neg)
        tied = np.flatnonzero(lo != hi)
        for t in tied:
            eq = np.flatnonzero(dp == dn[t])
            lo[t] = eq[0] + int(np.sum(ip[eq] < i_n[t]))
    counts = np.bincount(lo, minlength=dp.size + 1)
    negs_before = np.cumsum(counts)[: dp.size]
    return np.arange(dp.size) + negs_before


def _numpy_ranks(d: np.ndarray, qp: np.ndarray, gp: np.ndarray, qc: np.ndarray, gc: np.ndarray,
                 separate_cameras: bool) -> list[np.ndarray | None]:
    out: list[np.ndarray | None] = []
    for i in range(d.shape[0]):
        same_cam = gc == qc[i]
        match = gp == qp[i]
        remove = same_cam if separate_cameras else (match & same_cam)
        pos = match & ~remove
        if not pos.any():
            out.append(None)
            continue
        out.append(_row_ranks(d[i], pos, ~match & ~remove))
    return out


def _market_ranks(d: np.ndarray, qp: np.ndarray, gp: np.ndarray, qc: np.ndarray, gc: np.ndarray
                  ) -> list[np.ndarray | None]:
    """Market protocol without building per-row masks: for each positive p,
    ``rank = #{j: (d_j, j) < (d_p, p)} - #{removed j: (d_j, j) < (d_p, p)}``, where the removed
    entries (same pid and camera) and the positives come from a per-pid index."""
    order = np.argsort(gp, kind="stable")
    uniq, starts = np.unique(gp[order], return_index=True)
    ends = np.append(starts[1:], gp.size)
    where = {int(u): order[a:b] for u, a, b in zip(uniq, starts, ends)}
    empty = np.zeros(0, dtype=np.int64)
    out: list[np.ndarray | None] = []
    for i in range(d.shape[0]):
        idx = where.get(int(qp[i]), empty)
        same = gc[idx] == qc[i]
        pos, rem = idx[~same], idx[same]
        if pos.size == 0:
            out.append(None)
            continue
        row = d[i]
        dp = row[pos]
        less = (row[None, :] < dp[:, None]).sum(1)
        eq = (row[None, :] == dp[:, None])
        if int(eq.sum()) > pos.size:  # ties: equal distances count when their index is smaller
            less += (eq & (np.arange(row.size)[None, :] < pos[:, None])).sum(1)
        if rem.size:
            dr = row[rem]
            less -= ((dr[None, :] < dp[:, None]) | ((dr[None, :] == dp[:, None]) & (rem[None, :] < pos[:, None]))).sum(1)
        out.append(np.sort(less))
    return out


def _torch_stats(d: np.ndarray, qp: np.ndarray, gp: np.ndarray, qc: np.ndarray, gc: np.ndarray,
                 separate_cameras: bool, max_rank: int, device: str = "cpu",
                 chunk: int = 256) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Fully vectorised (stable sort per row), chunks of queries: first-hit, AP, INP, valid."""
    gpt, gct = torch.as_tensor(gp, device=device), torch.as_tensor(gc, device=device)
    firsts, aps, inps, valids = [], [], [], []
    for s in range(0, d.shape[0], chunk):
        dt = torch.as_tensor(d[s:s + chunk], device=device)
        order = torch.sort(dt, dim=1, stable=True).indices
        qpt = torch.as_tensor(qp[s:s + chunk], device=device)[:, None]
        qct = torch.as_tensor(qc[s:s + chunk], device=device)[:, None]
        match = gpt[order] == qpt
        same_cam = gct[order] == qct
        keep = ~same_cam if separate_cameras else ~(match & same_cam)
        m = (match & keep).to(torch.float64)
        kept_pos = torch.cumsum(keep.to(torch.int64), 1) - 1  # index in the kept list
        r = m.sum(1)
        valid = r > 0
        hits = torch.cumsum(m, 1)
        prec = hits / (kept_pos + 1).to(torch.float64)
        ap = torch.where(m > 0, prec, torch.zeros_like(prec)).sum(1) / r.clamp(min=1)
        big = torch.iinfo(torch.int64).max
        first = torch.where(m > 0, kept_pos, torch.full_like(kept_pos, big)).amin(1)
        last = torch.where(m > 0, kept_pos, torch.full_like(kept_pos, -1)).amax(1)
        inp = r / (last + 1).clamp(min=1).to(torch.float64)
        firsts.append(first.cpu().numpy())
        aps.append(ap.cpu().numpy())
        inps.append(inp.cpu().numpy())
        valids.append(valid.cpu().numpy())
    return np.concatenate(firsts), np.concatenate(aps), np.concatenate(inps), np.concatenate(valids)


def _classic_first_hits(d: np.ndarray, qp: np.ndarray, gp: np.ndarray, qc: np.ndarray, gc: np.ndarray,
                        separate_cameras: bool, num_repeats: int, rng: np.random.Generator) -> list[np.ndarray | None]:
    """Per valid query, ``num_repeats`` first-hit ranks on one random kept image per gallery pid.

    RNG use (in this order): for every query with at least one kept positive, for every repeat,
    ``rng.random(n_kept)`` keys; the kept image of each pid with the smallest key is chosen.
    """
    out: list[np.ndarray | None] = []
    for i in range(d.shape[0]):
        same_cam = gc == qc[i]
        match = gp == qp[i]
        keep = ~same_cam if separate_cameras else ~(match & same_cam)
        if not np.any(match & keep):
            out.append(None)
            continue
        kept = np.flatnonzero(keep)
        order = np.lexsort((kept, d[i, kept]))  # kept entries in ranking order
        kept_sorted = kept[order]
        pids_sorted = gp[kept_sorted]
        hits = np.empty(num_repeats, dtype=np.int64)
        for rep in range(num_repeats):
            keys = rng.random(kept.size)[order]
            # the chosen entry of each pid = smallest key among its entries
            o = np.lexsort((keys, pids_sorted))
            first_of_pid = np.ones(o.size, dtype=bool)
            first_of_pid[1:] = pids_sorted[o][1:] != pids_sorted[o][:-1]
            chosen = np.zeros(kept.size, dtype=bool)
            chosen[o[first_of_pid]] = True
            pos_at = np.flatnonzero(chosen & (pids_sorted == qp[i]))[0]
            hits[rep] = int(np.sum(chosen[:pos_at]))
        out.append(hits)
    return out


def evaluate_rank(distmat: Any, q_pids: Any, g_pids: Any, q_camids: Any, g_camids: Any, max_rank: int = 50,
                  protocol: str = "market", separate_cameras: bool = False, num_repeats: int = 10,
                  seed: int | None = None, backend: str = "numpy") -> RankResult:
    """CMC, mAP and mINP of a query x gallery distance matrix (spec §2.6, steps 1-7).

    Args:
        distmat: ``(Q, G)`` distances (smaller = more similar), numpy or torch.
        q_pids, g_pids, q_camids, g_camids: ``(Q,)`` / ``(G,)`` integer labels.
        max_rank: CMC length (truncated to the gallery size).
        protocol: ``"market"`` or ``"cuhk03_classic"`` (CMC from one random kept gallery image per
            gallery pid, averaged over ``num_repeats`` draws with ``numpy.random.default_rng(seed)``;
            AP and INP on the full kept list).
        separate_cameras: remove every gallery image of the query's camera (open-reid
            ``separate_camera_set``), not only same-pid same-camera ones.
        backend: ``"numpy"`` (per-query rank counting, O(G log R)) or ``"torch"`` (full stable
            sort per row, vectorised in chunks; ``"torch:cuda"`` to run on a GPU).

    Returns:
        :class:`RankResult`. Ties are broken by gallery index (a stable sort).

    Raises:
        ValueError: shapes disagree, NaN distances, or no query has a correct match in the gallery.
    """
    if protocol not in ("market", "cuhk03_classic"):
        raise ValueError(f"protocol must be 'market' or 'cuhk03_classic', got {protocol!r}")
    d, qp, gp, qc, gc = _check(distmat, q_pids, g_pids, q_camids, g_camids)
    max_rank = max(1, min(int(max_rank), gp.size))
    if backend.startswith("torch"):
        device = backend.split(":", 1)[1] if ":" in backend else "cpu"
        first, ap_all, inp_all, valid = _torch_stats(d, qp, gp, qc, gc, separate_cameras, max_rank, device)
        first, ap, inp = first[valid], ap_all[valid], inp_all[valid]
    elif backend == "numpy":
        ranks = (_numpy_ranks(d, qp, gp, qc, gc, True) if separate_cameras else _market_ranks(d, qp, gp, qc, gc))
        valid = np.array([r is not None for r in ranks], dtype=bool)
        kept = [r for r in ranks if r is not None]
        first = np.array([r[0] for r in kept], dtype=np.int64)
        ap = np.array([np.mean(np.arange(1, r.size + 1) / (r + 1.0)) for r in kept])
        inp = np.array([r.size / (r[-1] + 1.0) for r in kept])
    else:
        raise ValueError(f"backend must be 'numpy' or 'torch[:device]', got {backend!r}")
    n_valid = int(valid.sum())
    if n_valid == 0:
        raise ValueError("no valid query: no query identity appears in the gallery under another camera")
    if protocol == "market":
        cmc = (first[:, None] <= np.arange(max_rank)[None, :]).mean(0)
    else:
        hits = [h for h in _classic_first_hits(d, qp, gp, qc, gc, separate_cameras, num_repeats,
                                               np.random.default_rng(seed)) if h is not None]
        cmc = np.mean([(h[:, None] <= np.arange(max_rank)[None, :]).mean(0) for h in hits], axis=0)
    return RankResult(cmc=cmc.astype(np.float64), mAP=float(ap.mean()), mINP=float(inp.mean()),
                      num_valid=n_valid, num_invalid=int(qp.size - n_valid), ap=ap, protocol=protocol)
