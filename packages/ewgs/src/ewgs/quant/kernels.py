"""Compiled single-pass kernels for :class:`~ewgs.quant.quantizer.FusedQuantizer` on CPU.

Eager PyTorch runs the quantizer as a chain of element-wise passes (sub, mul, clamp, round, ...,
about 6 forward and 13 backward), each reading and writing the whole activation; on CPU these
memory-bound passes cost more than half of a small convolution. ``torch.compile`` (inductor, C++
backend) fuses each direction into one vectorized loop:

- forward: ``x_q = round(B·clip((x − l)·inv, 0, 1))/B`` in one pass; nothing but ``x`` is saved
  (the mask and ``x_q`` are recomputed in the backward from ``x``);
- backward: ``∂x``, ``Σ g_t·x_n`` and ``Σ g_t`` in one pass.

The element-wise results are the eager ones (same operations in the same order; the forward is
bit-identical, tested); the two sums differ in summation order only. The kernels need a working C++
compiler and cost a one-time compilation per process (a few seconds with inductor's on-disk cache,
tens of seconds without); if compilation fails, the quantizer warns once and stays eager.

Selection (:func:`set_kernels`, or the environment variable ``EWGS_KERNELS``):

- ``"auto"`` (default): compiled for float32 CPU tensors of at least :data:`AUTO_MIN_NUMEL`
  elements when gradients are needed (training activations), eager otherwise;
- ``"compiled"``: compiled for every float32 CPU tensor;
- ``"eager"``: never compiled.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from typing import Literal

import torch

__all__ = ["AUTO_MIN_NUMEL", "Kernels", "get_kernels", "set_kernels", "use_compiled"]

Kernels = Literal["auto", "compiled", "eager"]
_CHOICES = ("auto", "compiled", "eager")

#: In ``"auto"`` mode, tensors with fewer elements stay eager (there the passes are cheap and a
#: compilation would cost more than it saves; it also keeps small test runs compile-free).
AUTO_MIN_NUMEL = 1 << 20

_state: dict = {"mode": None, "failed": False, "fwd": None, "bwd": None, "bwd_delta": None}


def set_kernels(mode: Kernels) -> None:
    """Choose the quantizer kernels for this process: ``"auto"``, ``"compiled"`` or ``"eager"``."""
    if mode not in _CHOICES:
        raise ValueError(f"kernels must be one of {_CHOICES}, got {mode!r}")
    _state["mode"] = mode


def get_kernels() -> Kernels:
    """The current selection (``EWGS_KERNELS`` or ``"auto"`` until :func:`set_kernels` is called)."""
    if _state["mode"] is None:
        env = os.environ.get("EWGS_KERNELS", "auto").strip().lower() or "auto"
        if env not in _CHOICES:
            raise ValueError(f"EWGS_KERNELS must be one of {_CHOICES}, got {env!r}")
        _state["mode"] = env
    return _state["mode"]


def use_compiled(x: torch.Tensor) -> bool:
    """Whether the quantizer of tensor ``x`` runs the compiled kernels (training path only)."""
    mode = get_kernels()
    if mode == "eager" or _state["failed"] or x.device.type != "cpu" or x.dtype != torch.float32:
        return False
    if torch.compiler.is_compiling():  # inside a user's torch.compile: let it trace the eager ops
        return False
    return mode == "compiled" or x.numel() >= AUTO_MIN_NUMEL


def _forward(x: torch.Tensor, lower: torch.Tensor, inv: torch.Tensor, steps: torch.Tensor) -> torch.Tensor:
    x_n = ((x - lower) * inv).clamp(0.0, 1.0)
    return torch.round(x_n * steps) / steps


def _backward(
    x: torch.Tensor, lower: torch.Tensor, inv: torch.Tensor, g: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    t = (x - lower) * inv
    x_n = t.clamp(0.0, 1.0)
    g_t = torch.where(t == x_n, g, 0.0)  # inclusive mask; NaN fails the test and passes nothing
    return g_t * inv, (g_t * x_n).sum(), g_t.sum()


def _backward_delta(
    x: torch.Tensor, lower: torch.Tensor, inv: torch.Tensor, steps: torch.Tensor, g: torch.Tensor,
    delta: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    t = (x - lower) * inv
    x_n = t.clamp(0.0, 1.0)
    x_q = torch.round(x_n * steps) / steps
    g_n = ((x_n - x_q) * torch.sign(g) * delta + 1) * g  # E5, the eager quantizer's order
    g_t = torch.where(t == x_n, g_n, 0.0)
    return g_t * inv, (g_t * x_n).sum(), g_t.sum()


def _compiled(name: str, fn: Callable) -> Callable:
    if _state[name] is None:
        _state[name] = torch.compile(fn, dynamic=True, fullgraph=True)
    return _state[name]


def _run(name: str, fn: Callable, *args: torch.Tensor):
    """Run the compiled ``fn``; on a compilation failure warn once, go eager for good, return None."""
    try:
        with torch.no_grad():
            return _compiled(name, fn)(*args)
    except Exception as exc:  # no C++ compiler, unsupported platform, ...
        _state["failed"] = True
        warnings.warn(f"ewgs: compiling the quantizer kernels failed ({type(exc).__name__}: {exc}); "
                      "using the eager quantizer (set EWGS_KERNELS=eager to skip the attempt)",
                      RuntimeWarning, stacklevel=3)
        return None


def forward(x: torch.Tensor, lower: torch.Tensor, inv: torch.Tensor, steps: torch.Tensor) -> torch.Tensor | None:
    """Compiled ``x_q`` (shape of ``x``), or None if compilation failed."""
    return _run("fwd", _forward, x, lower, inv, steps)


def backward(
    x: torch.Tensor, lower: torch.Tensor, inv: torch.Tensor, steps: torch.Tensor, g: torch.Tensor,
    delta: torch.Tensor | None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None:
    """Compiled ``(∂x, Σ g_t·x_n, Σ g_t)``, or None if compilation failed; ``delta=None``: no scaling (STE)."""
    if delta is None:
        return _run("bwd", _backward, x, lower, inv, g)
    return _run("bwd_delta", _backward_delta, x, lower, inv, steps, g, delta)
