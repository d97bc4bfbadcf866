"""Score-curve charts (matplotlib, drawn off-screen): anomaly score per frame with the ground
truth shaded."""

from __future__ import annotations

import io
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from cvcore.io import atomic_write_bytes
from mnad.engine.evaluate import FrameTable

__all__ = ["plot_scores", "plot_videos"]


def _shade(ax, frames: np.ndarray, labels: np.ndarray) -> None:
    if labels.size == 0 or (labels < 0).all():
        return
    on = np.flatnonzero(labels == 1)
    if on.size == 0:
        return
    # contiguous runs of abnormal frames
    breaks = np.flatnonzero(np.diff(on) > 1)
    starts = np.r_[on[0], on[breaks + 1]]
    ends = np.r_[on[breaks], on[-1]]
    for k, (s, e) in enumerate(zip(starts, ends)):
        ax.axvspan(frames[s] - 0.5, frames[e] + 0.5, color="tab:red", alpha=0.15, lw=0,
                   label="ground truth: abnormal" if k == 0 else None)


def plot_scores(tables: Mapping[str, FrameTable], path: str | os.PathLike[str], *,
                videos: Sequence[str] | None = None, title: str | None = None) -> Path:
    """One PNG with a panel per video; one curve per entry of ``tables`` (e.g. with / without
    memory); abnormal ground-truth frames (label 1) of the first table are shaded."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    if not tables:
        raise ValueError("plot_scores needs at least one table")
    first = next(iter(tables.values()))
    names = list(videos) if videos is not None else first.videos
    fig, axes = plt.subplots(len(names), 1, figsize=(8, 1.8 * len(names) + 0.6), squeeze=False)
    for ax, name in zip(axes[:, 0], names):
        ref = first.select(name)
        _shade(ax, ref.frame, ref.label)
        for label, table in tables.items():
            t = table.select(name)
            ax.plot(t.frame, t.score, lw=1.2, label=label)
        ax.set_ylim(-0.05, 1.05)
        ax.set_ylabel("anomaly")
        ax.set_title(f"video {name}", fontsize=9, loc="left")
    axes[-1, 0].set_xlabel("frame")
    axes[0, 0].legend(fontsize=7, loc="upper right")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80)
    plt.close(fig)
    return atomic_write_bytes(path, buf.getvalue())


def plot_videos(table: FrameTable, out_dir: str | os.PathLike[str]) -> list[Path]:
    """One PNG per video, ``out_dir/<video>.png``."""
    return [plot_scores({"MNAD anomaly score": table}, Path(out_dir) / f"{name}.png", videos=[name])
            for name in table.videos]
