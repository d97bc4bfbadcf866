"""MATLAB-compatible bicubic ``imresize`` (E10), antialiased when downscaling.

Each axis is resized by a dense ``(n_out, n_in)`` weight matrix built exactly as MATLAB's
``contributions``: cubic kernel a = -0.5, coordinate ``u = j/r + 0.5 (1 - 1/r)``, ``ceil(4/r)+2``
taps from ``floor(u - width/2)``, normalised weights, symmetric (mirror) edges.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["cubic", "imresize", "resize_weights"]


def cubic(x: np.ndarray) -> np.ndarray:
    """Keys' cubic kernel with a = -0.5 (E10)."""
    ax = np.abs(x)
    ax2, ax3 = ax * ax, ax * ax * ax
    return (1.5 * ax3 - 2.5 * ax2 + 1.0) * (ax <= 1) + (-0.5 * ax3 + 2.5 * ax2 - 4.0 * ax + 2.0) * ((ax > 1) & (ax <= 2))


def _out_len(n: int, r: float) -> int:
    # ceil(n * r), robust to 1/3 * 300 = 99.99999999999999
    return int(math.ceil(round(n * r, 9)))


def resize_weights(n_in: int, n_out: int, r: float, *, antialias: bool = True) -> np.ndarray:
    """The ``(n_out, n_in)`` float64 matrix of one axis (rows sum to 1)."""
    if r < 1 and antialias:
        kernel = lambda x: r * cubic(r * x)  # noqa: E731
        width = 4.0 / r
    else:
        kernel, width = cubic, 4.0
    j = np.arange(1, n_out + 1, dtype=np.float64)
    u = j / r + 0.5 * (1 - 1 / r)
    left = np.floor(u - width / 2)
    taps = int(math.ceil(width)) + 2
    idx = left[:, None] + np.arange(taps)[None, :]  # 1-based
    w = kernel(u[:, None] - idx)
    w = w / w.sum(axis=1, keepdims=True)
    # symmetric padding: ..., 2, 1 | 1, 2, ..., n | n, n-1, ...
    mirror = np.concatenate([np.arange(n_in), np.arange(n_in)[::-1]])
    cols = mirror[np.mod(idx.astype(np.int64) - 1, 2 * n_in)]
    mat = np.zeros((n_out, n_in), dtype=np.float64)
    np.add.at(mat, (np.repeat(np.arange(n_out), taps), cols.ravel()), w.ravel())
    return mat


def imresize(
    img: np.ndarray, scale: float | None = None, *, output_shape: tuple[int, int] | None = None,
    antialias: bool = True,
) -> np.ndarray:
    """Resize ``(H, W)`` or ``(H, W, C)`` like MATLAB ``imresize(img, scale, 'bicubic')``.

    Args:
        img: uint8 (rounded and clipped to [0, 255] on output) or float (returned as float64,
            not clipped).
        scale: factor ``r`` (``1/s`` to downscale); output ``ceil(H r) x ceil(W r)``.
        output_shape: ``(H_out, W_out)`` instead of ``scale`` (factor per axis = out/in).

    Returns:
        The resized image, same dtype class as the input (uint8 in -> uint8 out).
    """
    a = np.asarray(img)
    if a.ndim not in (2, 3):
        raise ValueError(f"imresize expects (H, W) or (H, W, C), got shape {a.shape}")
    if a.shape[0] == 0 or a.shape[1] == 0:
        raise ValueError(f"imresize got an empty image of shape {a.shape}")
    h, w = a.shape[:2]
    if output_shape is not None:
        oh, ow = (int(v) for v in output_shape)
        rh, rw = oh / h, ow / w
    elif scale is not None:
        if scale <= 0:
            raise ValueError(f"scale must be > 0, got {scale}")
        rh = rw = float(scale)
        oh, ow = _out_len(h, rh), _out_len(w, rw)
    else:
        raise ValueError("give scale or output_shape")
    x = a.astype(np.float64)
    # MATLAB resizes the dimension with the smaller factor first; rows first on ties.
    order = (0, 1) if rh <= rw else (1, 0)
    for axis in order:
        if axis == 0:
            mat = resize_weights(h, oh, rh, antialias=antialias)
            x = np.tensordot(mat, x, axes=([1], [0]))
        else:
            mat = resize_weights(w, ow, rw, antialias=antialias)
            x = np.moveaxis(np.tensordot(mat, x, axes=([1], [1])), 0, 1)
    if a.dtype == np.uint8:
        return np.clip(np.round(x), 0, 255).astype(np.uint8)
    return x
