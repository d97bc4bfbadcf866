"""Progress bars, a JSON-lines metrics log, meters and the one-line end-of-run summary.

Progress goes to stderr (tqdm), quiet when stderr is not a terminal or when asked.
"""

from __future__ import annotations

import json
import logging
import math
import os
import sys
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

from tqdm import tqdm

T = TypeVar("T")

__all__ = ["AverageMeter", "MetricsLogger", "format_summary", "get_logger", "progress", "set_quiet"]

_QUIET: bool | None = None


def set_quiet(quiet: bool | None) -> None:
    """Force progress bars off (True), on (False), or back to the TTY test (None)."""
    global _QUIET
    _QUIET = quiet


def _bars_disabled(quiet: bool | None) -> bool:
    if quiet is None:
        quiet = _QUIET
    if quiet is None:
        quiet = not sys.stderr.isatty() or bool(os.environ.get("CVCORE_QUIET"))
    return bool(quiet)


def progress(
    iterable: Iterable[T], *, total: int | None = None, desc: str | None = None, quiet: bool | None = None
) -> Iterator[T]:
    """Wrap a loop in a tqdm bar on stderr (disabled when not a TTY or ``quiet``)."""
    if _bars_disabled(quiet):
        yield from iterable
        return
    with tqdm(iterable, total=total, desc=desc, file=sys.stderr, dynamic_ncols=True, leave=False) as bar:
        yield from bar


def get_logger(name: str, verbose: bool = False) -> logging.Logger:
    """A stderr logger ``name`` at INFO (DEBUG with ``verbose``), configured once."""
    logger = logging.getLogger(name)
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s: %(message)s", "%H:%M:%S"))
        logger.addHandler(handler)
        logger.propagate = False
    logger.setLevel(logging.DEBUG if verbose else logging.INFO)
    return logger


class AverageMeter:
    """Running (weighted) mean of a scalar."""

    def __init__(self) -> None:
        self.sum = 0.0
        self.count = 0.0

    def update(self, value: float, n: float = 1.0) -> None:
        self.sum += float(value) * n
        self.count += n

    @property
    def avg(self) -> float:
        return self.sum / self.count if self.count else math.nan


class MetricsLogger:
    """Append one JSON object per line to ``path`` (only where ``enabled``, i.e. rank 0)."""

    def __init__(self, path: str | os.PathLike[str] | None, *, enabled: bool = True) -> None:
        self.path = Path(path) if path is not None else None
        self.enabled = enabled and self.path is not None
        self._start = time.monotonic()
        if self.enabled:
            self.path.parent.mkdir(parents=True, exist_ok=True)

    def log(self, **record: Any) -> dict[str, Any]:
        record.setdefault("time", round(time.monotonic() - self._start, 3))
        clean = {k: _plain(v) for k, v in record.items()}
        if self.enabled:
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(json.dumps(clean) + "\n")
                f.flush()
        return clean

    def read(self) -> list[dict[str, Any]]:
        if self.path is None or not self.path.is_file():
            return []
        return [json.loads(line) for line in self.path.read_text(encoding="utf-8").splitlines() if line]


def _plain(v: Any) -> Any:
    if hasattr(v, "item") and callable(v.item):
        try:
            return v.item()
        except (ValueError, RuntimeError):
            pass
    if isinstance(v, os.PathLike):
        return os.fspath(v)
    return v


def format_summary(metrics: Mapping[str, Any], *, prefix: str = "") -> str:
    """One human line: ``prefix | loss 0.1234 | acc 91.20 | time 12.3 s``."""
    parts = [prefix] if prefix else []
    for k, v in metrics.items():
        v = _plain(v)
        if isinstance(v, float):
            parts.append(f"{k} {v:.4g}" if abs(v) < 1e-2 or abs(v) >= 1e4 else f"{k} {v:.4f}".rstrip("0").rstrip("."))
        else:
            parts.append(f"{k} {v}")
    return " | ".join(parts)
