"""Small helpers for the packages' benchmark scripts: wall-clock timing and peak memory.

The benchmarks are scripts, not tests; these helpers keep their measurements comparable:
one warm-up call, a stated statistic over the repetitions, optional device synchronisation
(CUDA kernels run asynchronously), and a peak-memory figure in the same unit on every platform.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable, Mapping
from typing import Any, Literal

__all__ = ["interleaved", "peak_rss_mib", "reset_peak_rss", "rss_mib", "time_call"]

Stat = Literal["mean", "median", "min"]


def _sync(device: Any) -> None:
    if device is None:
        return
    import torch

    dev = torch.device(device)
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


def time_call(fn: Callable[[], Any], repeat: int, *, stat: Stat = "mean", warmup: int = 1,
              device: Any = None) -> float:
    """Seconds per call of ``fn`` over ``repeat`` calls, after ``warmup`` untimed calls.

    Args:
        stat: ``"mean"`` (one timer around all calls), ``"median"`` or ``"min"`` of per-call times.
        device: a CUDA device to synchronise before and after the timed calls (``None``: CPU only).
    """
    if repeat < 1:
        raise ValueError(f"repeat must be >= 1, got {repeat}")
    if stat not in ("mean", "median", "min"):
        raise ValueError(f"stat must be 'mean', 'median' or 'min', got {stat!r}")
    for _ in range(warmup):
        fn()
    _sync(device)
    if stat == "mean":
        t0 = time.perf_counter()
        for _ in range(repeat):
            fn()
        _sync(device)
        return (time.perf_counter() - t0) / repeat
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - t0)
    return statistics.median(times) if stat == "median" else min(times)


def interleaved(fns: Mapping[str, Callable[[], Any]], repeat: int, *, rounds: int = 5,
                device: Any = None) -> dict[str, float]:
    """Best-of-``rounds`` mean seconds per call of each function, measured in alternating rounds
    (``repeat`` calls of each function per round), so that all see the same machine load.

    Returns ``{name: seconds}`` in the order of ``fns``.
    """
    if rounds < 1:
        raise ValueError(f"rounds must be >= 1, got {rounds}")
    best = {name: float("inf") for name in fns}
    for r in range(rounds):
        for name, fn in fns.items():
            best[name] = min(best[name], time_call(fn, repeat, warmup=1 if r == 0 else 0, device=device))
    return best


def _proc_status_kib(field: str) -> int | None:
    """``field`` (``VmRSS``, ``VmHWM``) of ``/proc/self/status`` in KiB; ``None`` off Linux."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _ru_maxrss_mib() -> float:
    try:
        import resource
    except ImportError as e:  # pragma: no cover - Windows
        raise RuntimeError("peak memory needs /proc or the POSIX 'resource' module") from e
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10  # macOS: bytes; Linux: KiB


def peak_rss_mib() -> float:
    """Peak resident set size of this process, in MiB.

    Linux: ``VmHWM`` from ``/proc/self/status`` (``ru_maxrss`` is not used there: after fork +
    exec it carries the parent's peak into the child, hiding anything below it). Elsewhere:
    ``getrusage``'s ``ru_maxrss`` (bytes on macOS). Lowered by :func:`reset_peak_rss`.
    """
    kib = _proc_status_kib("VmHWM")
    return kib / 2**10 if kib is not None else _ru_maxrss_mib()


def rss_mib() -> float | None:
    """Current resident set size in MiB (``VmRSS``, Linux); ``None`` where unknown."""
    kib = _proc_status_kib("VmRSS")
    return None if kib is None else kib / 2**10


def reset_peak_rss() -> bool:
    """Reset the peak (``VmHWM``) to the current RSS, so that :func:`peak_rss_mib` measures what
    follows (``/proc/self/clear_refs`` = 5, Linux >= 4.0). Returns whether it could."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return False
    return True
