"""Fully connected CRF with Gaussian edge potentials (Krähenbühl & Koltun 2011), spec E10 / §3.20, §3.24.

What ``pydensecrf`` computes with ``DenseCRF2D``, a softmax unary, ``addPairwiseGaussian``,
``addPairwiseBilateral`` (Potts compatibility, DIAG kernel, symmetric normalisation), written with
numpy/scipy/torch only. Two backends:

- ``"exact"``: the dense Gaussian sums of E10 (bilateral kernel as a dense N x N matrix, O(N^2),
  small images only; spatial kernel as two exact 1-D Gaussian matrix products);
- ``"lattice"``: the bilateral kernel through the permutohedral lattice (splat - blur - slice,
  Adams et al. 2010), the approximation pydensecrf uses, built once per image as sparse matrices
  (O(N d^2)); the spatial kernel exactly, as two 1-D Gaussian matrix products (separable).

Both run mean field: ``Q^0 = softmax(-U)``, ``Q^t = softmax(-U + w_g Phi_g[Q] + w_b Phi_b[Q])``
with ``Phi[x] = n * K (n * x)``, ``n = (K 1 + 1e-20)^(-1/2)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

__all__ = ["CRFParams", "PermutohedralLattice", "dense_crf", "gaussian_features", "unary_from_prob"]

PROB_CLIP = 1e-5  # E9: U = -log(clip(P, 1e-5, 1))  (stage2.py / pydensecrf.utils.unary_from_softmax)
NORM_EPS = 1e-20  # E10: symmetric normaliser n = (K1 + 1e-20)^(-1/2)  (densecrf pairwise.cpp)


@dataclass(frozen=True)
class CRFParams:
    """DenseCRF parameters in the config order ``[w_b, theta_alpha, theta_beta, w_g, theta_gamma]``.

    Stage 2: ``CRFParams(4, 55, 3, 3, 3)``; DeepLab-V1 eval ``(4, 121, 5, 3, 3)``;
    DeepLab-V2 eval ``(4, 67, 3, 3, 1)``.
    """

    bi_w: float = 4.0
    bi_xy_std: float = 55.0
    bi_rgb_std: float = 3.0
    pos_w: float = 3.0
    pos_xy_std: float = 3.0

    @classmethod
    def from_list(cls, values: list[float] | tuple[float, ...]) -> CRFParams:
        if len(values) != 5:
            raise ValueError(f"CRF parameters need 5 values [w_b, xy_b, rgb_b, w_g, xy_g], got {len(values)}")
        return cls(*(float(v) for v in values))


STAGE2_CRF = CRFParams(4, 55, 3, 3, 3)
VGG_EVAL_CRF = CRFParams(4, 121, 5, 3, 3)
RES_EVAL_CRF = CRFParams(4, 67, 3, 3, 1)


def unary_from_prob(prob: np.ndarray) -> np.ndarray:
    """``U = -log(clip(P, 1e-5, 1))`` (E9), ``(C, H, W)`` -> ``(C, H, W)`` float32."""
    return -np.log(np.clip(np.asarray(prob, dtype=np.float32), PROB_CLIP, 1.0))


def gaussian_features(height: int, width: int, xy_std: float, image: np.ndarray | None = None,
                      rgb_std: float | None = None) -> np.ndarray:
    """Kernel features ``(N, d)``: ``(x, y) / theta`` (+ ``RGB / theta_rgb``), pixels row-major."""
    ys, xs = np.mgrid[0:height, 0:width]
    feats = [xs.ravel() / xy_std, ys.ravel() / xy_std]
    if image is not None:
        img = np.asarray(image, dtype=np.float64).reshape(-1, 3)
        feats += [img[:, c] / rgb_std for c in range(3)]
    return np.stack(feats, axis=1)


class PermutohedralLattice:
    """Permutohedral-lattice Gaussian filter ``out_i ≈ sum_j exp(-|f_i - f_j|^2 / 2) in_j``.

    Follows the construction of Adams, Baek & Davis (2010) as used by densecrf: features scaled
    by ``sqrt(2/3) (d + 1) / sqrt((i + 1)(i + 2))``, elevated onto the hyperplane, splatted with
    barycentric weights to the d + 1 enclosing simplex vertices, blurred with ``[0.5, 1, 0.5]``
    along the d + 1 lattice axes, sliced back and scaled by ``1 / (1 + 2^-d)``.

    The construction is vectorised over pixels in a ``(d + 1, N)`` layout; lattice vertices are
    identified by a mixed-radix integer code (one ``np.unique``), blur neighbours by a sorted search.
    Splat and slice are stored column-major (``csc``): a column per pixel for the splat and per
    lattice point for the slice, which keeps the scattered accesses local.

    Args:
        features: ``(N, d)`` float features (already divided by their standard deviations).
    """

    def __init__(self, features: np.ndarray) -> None:
        import scipy.sparse as sp

        f = np.asarray(features, dtype=np.float64)
        n, d = f.shape
        self.n, self.d = n, d
        d1 = d + 1
        inv_std = np.sqrt(2.0 / 3.0) * d1
        scale = inv_std / np.sqrt((np.arange(d) + 1.0) * (np.arange(d) + 2.0))
        cf = f.T * scale[:, None]  # (d, N)
        # elevate: e_j = sum_{i>=j} cf_i - j * cf_{j-1} (j = 1..d), e_0 = sum cf
        suffix = np.cumsum(cf[::-1], axis=0)[::-1]  # suffix[i] = sum_{k>=i} cf_k
        elevated = np.empty((d1, n))
        elevated[0] = suffix[0]
        for j in range(1, d1):
            elevated[j] = (suffix[j] if j < d else 0.0) - j * cf[j - 1]
        down = 1.0 / d1
        v = elevated * down
        up_p, dn_p = np.ceil(v) * d1, np.floor(v) * d1
        rem0 = np.where(up_p - elevated < elevated - dn_p, up_p, dn_p)
        ssum = (rem0.sum(axis=0) * down).round().astype(np.int64)
        diff = elevated - rem0
        # rank[i] = number of j with diff_j > diff_i (ties broken by index, as densecrf does)
        rank = np.zeros((d1, n), dtype=np.int64)
        for i in range(d1):
            for j in range(i + 1, d1):
                less = diff[i] < diff[j]
                rank[i] += less
                rank[j] += ~less
        rank += ssum
        neg, big = rank < 0, rank > d
        rank[neg] += d1
        rem0[neg] += d1
        rank[big] -= d1
        rem0[big] -= d1
        # barycentric weights: b[d - rank_i] += y_i, b[d - rank_i + 1] -= y_i, b[0] += 1 + b[d + 1];
        # rank is a permutation of 0..d per pixel, so with s_r = y of the coordinate of rank r:
        # b[0] = 1 + s_d - s_0 and b[k] = s_{d-k} - s_{d-k+1} (k = 1..d)
        cols = np.arange(n)
        s_r = np.empty((d1, n))
        s_r[rank, cols] = (elevated - rem0) * down
        bary = np.empty((d1, n))
        bary[0] = 1.0 + s_r[d] - s_r[0]
        bary[1:] = s_r[d - 1::-1] - s_r[d::-1][: d]
        # vertex k of the simplex = rem0 + k - (d + 1) [rank > d - k] (the canonical simplex shifted);
        # codes: mixed radix over the d stored coordinates (the last one is implied by the zero sum),
        # with margins of d + 2 so that every blur neighbour (coordinates -1 / +d away) is in range
        rem0i = rem0[:d].round().astype(np.int64)
        lo = rem0i.min(axis=1) - (d + 2)
        span = rem0i.max(axis=1) - lo + 2 * d + 3
        self._lo, self._span = lo, span
        base = np.concatenate([[1], np.cumprod(span[:-1])]).astype(np.int64)
        self._base = base
        base_sum = int(base.sum())
        # who[r] = coordinate index holding rank r; code_k = code_{k-1} + sum(base) - (d + 1) base[who[d - k + 1]]
        who = np.empty((d1, n), dtype=np.int64)
        who[rank, cols] = np.arange(d1)[:, None]
        base_ext = np.append(base, 0)  # the implied coordinate d carries no code
        codes = np.empty((d1, n), dtype=np.int64)
        codes[0] = base @ (rem0i - lo[:, None])
        for k in range(1, d1):
            codes[k] = codes[k - 1] + base_sum - d1 * base_ext[who[d - k + 1]]
        uniq, inv = np.unique(codes.T.ravel(), return_inverse=True)  # pixel-major: (N, d + 1)
        m = uniq.size
        self.m = m
        self._uniq = uniq
        indptr = np.arange(0, n * d1 + 1, d1, dtype=np.int32)
        # splat (m x n), one column per pixel; slice = splat^T (n x m), one column per lattice point
        self.splat = sp.csc_matrix((bary.T.ravel().astype(np.float32), inv.ravel().astype(np.int32), indptr),
                                   shape=(m, n))
        by_point = self.splat.tocsr()
        self.slice = sp.csc_matrix((by_point.data, by_point.indices, by_point.indptr), shape=(n, m))
        # blur along axis j: x + 0.5 (x[n1] + x[n2]) with n1 = key - 1 (all stored coordinates) and key[j] + d
        # (j < d), n2 the opposite neighbour; n2 is the inverse map of n1 (if n1(a) = b then n2(b) = a)
        self.blur = []
        ar = np.arange(m, dtype=np.int32)
        indptr_b = np.arange(0, 3 * m + 1, 3, dtype=np.int32)  # 3 slots per row: self, n1, n2 (weight 0 if absent)
        for j in range(d1):
            off = -base_sum + (d1 * int(base[j]) if j < d else 0)
            target = uniq + off
            pos = np.searchsorted(uniq, target).clip(0, m - 1)
            ok1 = uniq[pos] == target
            nb = np.empty((m, 3), np.int32)
            nb[:, 0] = ar
            nb[:, 1] = np.where(ok1, pos, ar)
            nb[:, 2] = ar
            val = np.zeros((m, 3), np.float32)
            val[:, 0] = 1.0
            val[:, 1] = 0.5 * ok1
            nb[pos[ok1], 2] = ar[ok1]
            val[pos[ok1], 2] = 0.5
            self.blur.append(sp.csr_matrix((val.ravel(), nb.ravel(), indptr_b), shape=(m, m)))
        self.alpha = 1.0 / (1.0 + 2.0 ** (-d))

    def _encode(self, keys: np.ndarray) -> np.ndarray:
        """Codes of ``(K, d)`` integer lattice keys (stored coordinates)."""
        return ((keys - self._lo) * self._base).sum(axis=1)

    def __call__(self, values: np.ndarray) -> np.ndarray:
        """Filter ``(N,)`` or ``(N, C)`` values (float32 arithmetic, float64 result)."""
        x = self.splat @ np.asarray(values, dtype=np.float32)
        for b in self.blur:
            x = b @ x
        return self.alpha * (self.slice @ x).astype(np.float64)


class _ExactKernel:
    """Dense ``K(i, j) = exp(-|f_i - f_j|^2 / 2)`` (float64 torch), cached when it fits in memory."""

    def __init__(self, features: np.ndarray, block: int = 2048, cache_limit: int = 6000) -> None:
        import torch

        self.f = torch.from_numpy(np.asarray(features, dtype=np.float64))
        self.block = block
        self.k = self._rows(0, self.f.shape[0]) if self.f.shape[0] <= cache_limit else None

    def _rows(self, s: int, e: int):
        fb = self.f[s:e]
        d2 = (fb**2).sum(1)[:, None] + (self.f**2).sum(1)[None] - 2 * fb @ self.f.T
        import torch

        return torch.exp(-0.5 * d2.clamp_min(0))

    def __call__(self, values: np.ndarray) -> np.ndarray:
        import torch

        v = torch.from_numpy(np.asarray(values, dtype=np.float64))
        if self.k is not None:
            return (self.k @ v).numpy()
        out = [self._rows(s, s + self.block) @ v for s in range(0, self.f.shape[0], self.block)]
        return torch.cat(out).numpy()


class _SeparableGaussian:
    """Spatial Gaussian ``exp(-|p_i - p_j|^2 / (2 theta^2))`` as two 1-D zero-padded correlations.

    The 1-D kernel is cut where it falls below ``cut`` of its peak (radius ``theta sqrt(2 ln(1/cut))``).
    The default ``cut = 1e-20`` (about 9.6 theta) equals the full dense sum to ~1e-20 relative
    (the exact backend); the fast path uses ``cut = 1e-8`` (about 6.1 theta, dropped mass < 2e-9,
    below float32 resolution) with float32 arithmetic.
    """

    def __init__(self, height: int, width: int, xy_std: float, cut: float = 1e-20,
                 dtype: type = np.float64) -> None:
        radius = int(np.ceil(xy_std * np.sqrt(2.0 * np.log(1.0 / cut))))
        r = np.arange(-radius, radius + 1, dtype=np.float64)
        self.kernel = np.exp(-(r**2) / (2.0 * xy_std**2))
        self.h, self.w = height, width
        self.dtype = dtype

    def __call__(self, values: np.ndarray) -> np.ndarray:
        """Filter ``(N,)`` or ``(N, C)`` values; returns float64."""
        from scipy.ndimage import correlate1d

        v = np.asarray(values, dtype=self.dtype)
        squeeze = v.ndim == 1
        c = 1 if squeeze else v.shape[-1]
        x = np.ascontiguousarray(v.reshape(self.h * self.w, c).T).reshape(c, self.h, self.w)
        x = correlate1d(x, self.kernel, axis=1, mode="constant", cval=0.0)
        x = correlate1d(x, self.kernel, axis=2, mode="constant", cval=0.0).reshape(c, self.h * self.w)
        return x[0].astype(np.float64) if squeeze else x.T.astype(np.float64)


def _softmax0(x: np.ndarray, inplace: bool = False) -> np.ndarray:
    """Softmax over axis 0 of a ``(C, N)`` array (``inplace``: overwrite ``x``, no temporaries)."""
    e = x if inplace else x.copy()
    e -= x.max(axis=0)
    np.exp(e, out=e)
    e /= e.sum(axis=0)
    return e


def dense_crf(image_u8: np.ndarray, prob: np.ndarray, params: CRFParams = STAGE2_CRF, iterations: int = 10,
              backend: Literal["lattice", "exact", "pydensecrf"] = "lattice", *,
              unary: np.ndarray | None = None) -> np.ndarray:
    """Mean-field inference of the fully connected CRF (E10).

    Args:
        image_u8: ``(H, W, 3)`` uint8 RGB image (the bilateral kernel uses values 0..255).
        prob: ``(C, H, W)`` probabilities; the unary is ``-log(clip(P, 1e-5, 1))`` (E9).
        params: kernel weights and widths (config order).
        iterations: mean-field steps T (10 in every official script).
        backend: ``"lattice"`` (fast), ``"exact"`` (dense O(N^2) reference, small images) or
            ``"pydensecrf"`` (the C++ library, if installed).
        unary: optional ``(C, H, W)`` energies used instead of ``prob``.
    Returns:
        ``(C, H, W)`` float32 marginals ``Q^T`` (sum to 1 over C).

    The lattice path filters only C - 1 channels per kernel and iteration: the marginals sum to 1,
    so ``K(n Q_last) = K(n) - sum_{c < last} K(n Q_c)`` with ``K(n)`` computed once (the filters
    are linear). The exact path filters every channel (reference).
    """
    img = np.asarray(image_u8)
    if img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f"image must be (H, W, 3), got {img.shape}")
    u = unary_from_prob(prob) if unary is None else np.asarray(unary, dtype=np.float32)
    c, h, w = u.shape
    if (h, w) != img.shape[:2]:
        raise ValueError(f"probabilities {u.shape[1:]} and image {img.shape[:2]} differ in size")
    if iterations < 0:
        raise ValueError(f"iterations must be >= 0, got {iterations}")
    if backend == "pydensecrf":
        return _pydensecrf(img, u, params, iterations)
    if backend not in ("lattice", "exact"):
        raise ValueError(f"unknown CRF backend {backend!r} (lattice, exact, pydensecrf)")
    fast = backend == "lattice"
    neg_u = -u.reshape(c, -1).astype(np.float64)  # (C, N)
    q = _softmax0(neg_u)
    if iterations == 0:
        return q.reshape(c, h, w).astype(np.float32)
    kernels = []
    for weight, bilateral in ((params.pos_w, False), (params.bi_w, True)):
        if weight == 0:
            continue
        if not bilateral:  # the spatial Gaussian is separable: exact in both backends
            k = (_SeparableGaussian(h, w, params.pos_xy_std, cut=1e-8, dtype=np.float32) if fast
                 else _SeparableGaussian(h, w, params.pos_xy_std))
        else:
            feats = gaussian_features(h, w, params.bi_xy_std, img, params.bi_rgb_std)
            k = PermutohedralLattice(feats) if fast else _ExactKernel(feats)
        norm = 1.0 / np.sqrt(k(np.ones(h * w)) + NORM_EPS)  # (N,)
        k_norm = k(norm) if fast else None  # K(n), for the last channel
        kernels.append((weight, k, norm, k_norm))
    for _ in range(iterations):
        acc = neg_u.copy()
        for weight, k, norm, k_norm in kernels:
            if fast:
                if c > 1:
                    filt = k((q[:-1] * norm).T).T  # (C - 1, N)
                    acc[:-1] += (weight * norm) * filt
                    acc[-1] += (weight * norm) * (k_norm - filt.sum(axis=0))
                else:
                    acc[-1] += (weight * norm) * k_norm
            else:
                acc += (weight * norm) * k((q * norm).T).T
        q = _softmax0(acc, inplace=True)
    return q.reshape(c, h, w).astype(np.float32)


def _pydensecrf(img: np.ndarray, u: np.ndarray, params: CRFParams, iterations: int) -> np.ndarray:
    try:
        import pydensecrf.densecrf as dcrf  # type: ignore[import-not-found]
    except ImportError as exc:
        from cvcore.errors import UserError

        raise UserError("CRF backend 'pydensecrf' needs the pydensecrf package; use --crf-backend lattice") from exc
    c, h, w = u.shape
    d = dcrf.DenseCRF2D(w, h, c)
    d.setUnaryEnergy(np.ascontiguousarray(u.reshape(c, -1), dtype=np.float32))
    d.addPairwiseGaussian(sxy=params.pos_xy_std, compat=params.pos_w)
    d.addPairwiseBilateral(sxy=params.bi_xy_std, srgb=params.bi_rgb_std, rgbim=np.ascontiguousarray(img),
                           compat=params.bi_w)
    return np.asarray(d.inference(iterations), dtype=np.float32).reshape(c, h, w)
