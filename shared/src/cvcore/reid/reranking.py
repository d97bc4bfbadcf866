"""k-reciprocal re-ranking (Zhong et al., CVPR 2017), computed in blocks (reid_common spec §2.7).

Memory: the three input matrices plus ``O(N·k1)`` for the neighbour lists and a sparse ``V``
(at most a few hundred non-zeros per row), plus one ``block x N`` float32 slab at a time and the
``Q x N`` query rows of the normalised distance. torchreid instead holds several dense
``N x N`` arrays (``N = Q + G``), which is what runs out of RAM on MSMT17-sized problems.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

__all__ = ["re_ranking"]


def _np32(a: Any) -> np.ndarray:
    if isinstance(a, torch.Tensor):
        a = a.detach().cpu().numpy()
    return np.asarray(a, dtype=np.float32)


class _Normalised:
    """Rows of ``Dn = (X**2 / colmax(X**2))^T`` without building ``X`` (``X = [[QQ, QG], [QG^T, GG]]``)."""

    def __init__(self, qg: np.ndarray, qq: np.ndarray, gg: np.ndarray, similarity: bool) -> None:
        self.qg, self.qq, self.gg, self.similarity = qg, qq, gg, similarity
        self.nq, self.ng = qg.shape
        self.n = self.nq + self.ng
        self.colmax = np.empty(self.n, dtype=np.float32)

    def _t(self, x: np.ndarray) -> np.ndarray:
        if self.similarity:
            x = np.float32(2.0) - np.float32(2.0) * x
        return np.power(x, 2, dtype=np.float32)

    def xt_rows(self, s: int, e: int) -> np.ndarray:
        """Rows ``s:e`` of ``X^T`` after the element-wise transform (squared distances)."""
        nq = self.nq
        parts = []
        if s < nq:
            a, b = s, min(e, nq)
            parts.append(np.concatenate([self.qq[:, a:b].T, self.qg[a:b]], axis=1))
        if e > nq:
            a, b = max(s, nq) - nq, e - nq
            parts.append(np.concatenate([self.qg[:, a:b].T, self.gg[:, a:b].T], axis=1))
        return self._t(np.concatenate(parts, axis=0) if len(parts) > 1 else parts[0])

    def entries(self, i: int, cols: np.ndarray) -> np.ndarray:
        """``Dn[i, cols]`` (needs ``colmax`` filled)."""
        nq = self.nq
        out = np.empty(cols.size, dtype=np.float32)
        lo = cols < nq
        if i < nq:
            out[lo] = self.qq[cols[lo], i]
            out[~lo] = self.qg[i, cols[~lo] - nq]
        else:
            out[lo] = self.qg[cols[lo], i - nq]
            out[~lo] = self.gg[cols[~lo] - nq, i - nq]
        return self._t(out) / self.colmax[i]


def _stable_topk(block: np.ndarray, k: int, device: str | None) -> np.ndarray:
    """First ``k`` columns of a stable argsort of every row (ties by column index)."""
    t = torch.as_tensor(block, device=device or "cpu")
    vals, idx = torch.topk(t, k, dim=1, largest=False, sorted=True)
    thr = vals[:, -1:]
    n_le = (t <= thr).sum(1).cpu().numpy()
    vals, idx = vals.cpu().numpy(), idx.cpu().numpy()
    rows = np.repeat(np.arange(block.shape[0]), k)
    o = np.lexsort((idx.ravel(), vals.ravel(), rows))
    idx = idx.ravel()[o].reshape(-1, k)
    for r in np.flatnonzero(n_le > k):  # ties at the boundary: decide them exactly
        idx[r] = np.argsort(block[r], kind="stable")[:k]
    return idx


def _k_reciprocal(rank: np.ndarray, i: int, k: int) -> np.ndarray:
    fwd = rank[i, :k + 1]
    back = rank[fwd, :k + 1]
    return fwd[np.any(back == i, axis=1)]


def re_ranking(q_g_dist: Any, q_q_dist: Any, g_g_dist: Any, k1: int = 20, k2: int = 6, lambda_value: float = 0.3,
               *, input: str = "distance", block_size: int = 1024, device: str | None = None) -> np.ndarray:
    """k-reciprocal re-ranked query x gallery distances (Zhong et al. 2017; torchreid semantics).

    Steps (spec §2.7): ``D = [[QQ, QG], [QG^T, GG]]`` squared element-wise, every column divided
    by its maximum, transposed; ``R0`` = stable ranking of each row; k-reciprocal sets ``R(i)``
    with the ``round(k1/2)`` expansion (a candidate set is added when more than 2/3 of it lies in
    the *un-expanded* ``R(i)``, as torchreid); ``V[i, R(i)] = softmax(-D[i, R(i)])``; query
    expansion over ``R0[i, :k2]``; Jaccard ``J = 1 - s / (2 - s)`` with ``s_ij = Σ min(V_i, V_j)``;
    result ``(1 - λ) J + λ D`` restricted to the gallery columns.

    Caveats:
        torchreid feeds *squared* Euclidean distances, which step 1 squares again; ISGAN's /
        open-reid's copy takes **similarities** (``input="similarity"``: ``D = 2 - 2 S`` first,
        then the same steps; some copies skip the squaring) and breaks ties by a partial sort.
        torchreid stores ``V`` in float16; here it is float32 (differences ~1e-3).

    Args:
        q_g_dist: ``(Q, G)``; q_q_dist: ``(Q, Q)``; g_g_dist: ``(G, G)``.
        k1, k2, lambda_value: the paper's parameters (20, 6, 0.3); ``k2 <= k1 + 1``.
        input: ``"distance"`` or ``"similarity"``.
        block_size: rows of the ``N x N`` matrix materialised at a time.
        device: torch device for the per-block top-k (default CPU).

    Returns:
        ``(Q, G)`` float32 array.
    """
    if input not in ("distance", "similarity"):
        raise ValueError(f"input must be 'distance' or 'similarity', got {input!r}")
    if k1 < 1 or k2 < 1 or k2 > k1 + 1:
        raise ValueError(f"need 1 <= k2 <= k1 + 1 and k1 >= 1, got k1={k1}, k2={k2}")
    if not 0.0 <= lambda_value <= 1.0:
        raise ValueError(f"lambda_value must be in [0, 1], got {lambda_value}")
    qg, qq, gg = _np32(q_g_dist), _np32(q_q_dist), _np32(g_g_dist)
    nq, ng = qg.shape
    if qq.shape != (nq, nq) or gg.shape != (ng, ng):
        raise ValueError(f"shapes do not fit: QG {qg.shape}, QQ {qq.shape}, GG {gg.shape}")
    dn = _Normalised(qg, qq, gg, input == "similarity")
    n = dn.n
    kk = min(k1 + 1, n)
    rank = np.empty((n, kk), dtype=np.int64)
    q_rows = np.empty((nq, n), dtype=np.float32)
    for s in range(0, n, block_size):
        e = min(n, s + block_size)
        x = dn.xt_rows(s, e)
        m = x.max(axis=1)
        dn.colmax[s:e] = m
        x /= m[:, None]
        rank[s:e] = _stable_topk(x, kk, device)
        if s < nq:
            q_rows[s:min(e, nq)] = x[: min(e, nq) - s]
        del x

    # step 3: k-reciprocal sets with expansion, Gaussian-kernel weights (sparse V)
    half = int(np.around(k1 / 2))
    v_rows, v_cols, v_vals = [], [], []
    for i in range(n):
        rec = _k_reciprocal(rank, i, k1)
        exp = [rec]
        for c in rec.tolist():
            cand = _k_reciprocal(rank, c, half)
            if np.intersect1d(cand, rec).size > 2.0 / 3.0 * cand.size:
                exp.append(cand)
        cols = np.unique(np.concatenate(exp))
        w = np.exp(-(q_rows[i, cols] if i < nq else dn.entries(i, cols)))
        v_rows.append(np.full(cols.size, i))
        v_cols.append(cols)
        v_vals.append(w / np.sum(w))
    from scipy import sparse

    v = sparse.csr_matrix((np.concatenate(v_vals), (np.concatenate(v_rows), np.concatenate(v_cols))),
                          shape=(n, n), dtype=np.float32)
    # step 5: local query expansion
    if k2 != 1:
        a = sparse.csr_matrix((np.full(n * k2, 1.0 / k2, dtype=np.float32),
                               (np.repeat(np.arange(n), k2), rank[:, :k2].ravel())), shape=(n, n))
        v = (a @ v).tocsr()
    # step 6: Jaccard distance of every query to every gallery item via the inverted index
    vc = v.tocsc()
    jac = np.empty((nq, ng), dtype=np.float32)
    for i in range(nq):
        lo, hi = v.indptr[i], v.indptr[i + 1]
        ls, vi = v.indices[lo:hi], v.data[lo:hi]
        starts, ends = vc.indptr[ls], vc.indptr[ls + 1]
        lens = ends - starts
        if lens.sum() == 0:
            jac[i] = 1.0
            continue
        offs = np.repeat(starts - np.concatenate([[0], np.cumsum(lens)[:-1]]), lens) + np.arange(lens.sum())
        rows = vc.indices[offs]
        mins = np.minimum(np.repeat(vi, lens), vc.data[offs])
        s_ij = np.bincount(rows, weights=mins, minlength=n)[nq:]
        jac[i] = 1.0 - s_ij / (2.0 - s_ij)
    out = jac * np.float32(1.0 - lambda_value) + q_rows[:, nq:] * np.float32(lambda_value)
    return out.astype(np.float32)
