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

    Args:
        features: ``(N, d)`` float features (already divided by their standard deviations).
    """

    def __init__(self, features: np.ndarray) -> None:
        import scipy.sparse as sp

        f = np.asarray(features, dtype=np.float64)
        n, d = f.shape
        self.n, self.d = n, d
        inv_std = np.sqrt(2.0 / 3.0) * (d + 1)
        scale = inv_std / np.sqrt((np.arange(d) + 1.0) * (np.arange(d) + 2.0))
        cf = f * scale  # (N, d)
        # elevate: e_j = sum_{i>=j} cf_i - j * cf_{j-1} (j = 1..d), e_0 = sum cf
        elevated = np.zeros((n, d + 1))
        suffix = np.cumsum(cf[:, ::-1], axis=1)[:, ::-1]  # suffix[:, i] = sum_{k>=i} cf_k
        elevated[:, 0] = suffix[:, 0]
        for j in range(1, d + 1):
            after = suffix[:, j] if j < d else 0.0
            elevated[:, j] = after - j * cf[:, j - 1]
        down = 1.0 / (d + 1)
        v = elevated * down
        up_p, dn_p = np.ceil(v) * (d + 1), np.floor(v) * (d + 1)
        rem0 = np.where(up_p - elevated < elevated - dn_p, up_p, dn_p)
        ssum = (rem0.sum(axis=1) * down).round().astype(np.int64)
        diff = elevated - rem0
        # rank[i] = number of j with diff_j > diff_i (ties broken by index, as densecrf does)
        rank = np.zeros((n, d + 1), dtype=np.int64)
        for i in range(d + 1):
            for j in range(i + 1, d + 1):
                less = diff[:, i] < diff[:, j]
                rank[:, i] += less
                rank[:, j] += ~less
        rank += ssum[:, None]
        neg, big = rank < 0, rank > d
        rank[neg] += d + 1
        rem0[neg] += d + 1
        rank[big] -= d + 1
        rem0[big] -= d + 1
        bary = np.zeros((n, d + 2))
        vv = (elevated - rem0) * down
        rows = np.arange(n)[:, None]
        np.add.at(bary, (rows, d - rank), vv)
        np.add.at(bary, (rows, d - rank + 1), -vv)
        bary[:, 0] += 1.0 + bary[:, d + 1]
        bary = bary[:, : d + 1]
        # canonical simplex: canonical[r, j] = r if j <= d - r else r - (d + 1)
        r_idx = np.arange(d + 1)[:, None]
        j_idx = np.arange(d + 1)[None, :]
        canonical = np.where(j_idx <= d - r_idx, r_idx, r_idx - (d + 1))
        rem0i = rem0.round().astype(np.int64)
        # keys of the d + 1 vertices: (N, d+1, d) (the last coordinate is implied)
        keys = rem0i[:, None, :d] + canonical[:, rank][:, :, :d].transpose(1, 0, 2)
        flat = keys.reshape(-1, d)
        # margins of d + 2 on both sides: every blur neighbour (coordinates -1 or +d away) stays inside
        # the mixed-radix range, so neighbour codes are plain constant offsets without aliasing
        self._lo = flat.min(axis=0) - (d + 2)
        span = flat.max(axis=0) - self._lo + d + 3
        self._span = span
        self._base = np.concatenate([[1], np.cumprod(span[:-1])]).astype(np.int64)
        codes = self._encode(flat)
        uniq, inv = np.unique(codes, return_inverse=True)
        m = uniq.size
        self.m = m
        self._uniq = uniq
        self.splat = sp.csr_matrix((bary.ravel(), (inv.ravel(), np.repeat(np.arange(n), d + 1))), shape=(m, n))
        self.blur = []
        ar = np.arange(m)
        for j in range(d + 1):
            # n1 = key - 1 (all d stored coordinates) with key[j] + d instead (j < d); n2 = opposite
            off = -int(self._base.sum()) + ((d + 1) * int(self._base[j]) if j < d else 0)
            cols, vals, rws = [ar], [np.ones(m)], [ar]
            for sign in (1, -1):
                codes_nb = uniq + sign * off
                pos = np.searchsorted(uniq, codes_nb).clip(0, m - 1)
                ok = uniq[pos] == codes_nb
                rws.append(ar[ok])
                cols.append(pos[ok])
                vals.append(np.full(int(ok.sum()), 0.5))
            self.blur.append(sp.csr_matrix((np.concatenate(vals), (np.concatenate(rws), np.concatenate(cols))),
                                           shape=(m, m)))
        self.alpha = 1.0 / (1.0 + 2.0 ** (-d))
        # float32 like densecrf: halves the memory traffic of the sparse products
        self.splat = self.splat.astype(np.float32)
        self.blur = [b.astype(np.float32) for b in self.blur]
        self.slice = self.splat.T.tocsr()

    def _encode(self, keys: np.ndarray) -> np.ndarray:
        return ((keys - self._lo) * self._base).sum(axis=1)

    def __call__(self, values: np.ndarray) -> np.ndarray:
        """Filter ``(N,)`` or ``(N, C)`` values."""
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

    The 1-D kernel is cut where it falls below 1e-20 of its peak (radius ``theta * sqrt(2 ln 1e20)``,
    about 9.6 theta), so the result equals the full dense sum to ~1e-20 relative.
    """

    def __init__(self, height: int, width: int, xy_std: float) -> None:
        radius = int(np.ceil(xy_std * np.sqrt(2.0 * np.log(1e20))))
        r = np.arange(-radius, radius + 1, dtype=np.float64)
        self.kernel = np.exp(-(r**2) / (2.0 * xy_std**2))
        self.h, self.w = height, width

    def __call__(self, values: np.ndarray) -> np.ndarray:
        from scipy.ndimage import correlate1d

        v = np.asarray(values, dtype=np.float64)
        squeeze = v.ndim == 1
        c = 1 if squeeze else v.shape[-1]
        x = v.reshape(self.h, self.w, c)
        x = correlate1d(x, self.kernel, axis=0, mode="constant", cval=0.0)
        x = correlate1d(x, self.kernel, axis=1, mode="constant", cval=0.0).reshape(self.h * self.w, c)
        return x[:, 0] if squeeze else x


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


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
    neg_u = -u.reshape(c, -1).T.astype(np.float64)  # (N, C)
    q = _softmax(neg_u)
    if iterations == 0:
        return q.T.reshape(c, h, w).astype(np.float32)
    kernels = []
    for weight, bilateral in ((params.pos_w, False), (params.bi_w, True)):
        if weight == 0:
            continue
        if not bilateral:  # the spatial Gaussian is separable: exact in both backends
            k = _SeparableGaussian(h, w, params.pos_xy_std)
        else:
            feats = gaussian_features(h, w, params.bi_xy_std, img, params.bi_rgb_std)
            k = PermutohedralLattice(feats) if backend == "lattice" else _ExactKernel(feats)
        norm = 1.0 / np.sqrt(k(np.ones(h * w)) + NORM_EPS)
        kernels.append((weight, k, norm[:, None]))
    for _ in range(iterations):
        acc = neg_u.copy()
        for weight, k, norm in kernels:
            acc += weight * norm * k(norm * q)
        q = _softmax(acc)
    return q.T.reshape(c, h, w).astype(np.float32)


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
