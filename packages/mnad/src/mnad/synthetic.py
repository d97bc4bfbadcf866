"""A small synthetic surveillance-like video set (spec Sec. 11.1): a fixed noisy background,
1-2 bright disks bouncing around at constant speed; test videos contain one anomalous segment,
either an unusual object (a grey square sliding in) or an unusual speed (disks 4x faster).

Seeded with ``numpy.random.default_rng(seed)`` only.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cvcore.io import atomic_write_bytes

__all__ = ["SyntheticDataset", "make_dataset", "make_video"]

BACKGROUND_LEVEL = 0.1  # mean background intensity on a [0, 1] scale
BACKGROUND_CONTRAST = 0.04  # std of the smoothed noise texture
DISK_RADIUS = 4
DISK_LEVEL = 0.9
SQUARE_SIZE = 11
SQUARE_LEVEL = 0.5  # mid-grey
SQUARE_SPEED = 1.5  # px/frame
SPEED_FACTOR = 4.0
SEGMENT = 15  # anomalous frames per test video
SEGMENT_START = (20, 35)  # start frame range (for 60-frame videos; scaled for other lengths)


@dataclass
class SyntheticDataset:
    """Frames as ``uint8`` grey arrays ``(T, size, size)``; ``labels[name]`` is ``(T,)`` 0/1."""

    train: list[np.ndarray]
    test: list[np.ndarray]
    train_names: list[str]
    test_names: list[str]
    labels: dict[str, np.ndarray]
    kinds: dict[str, str] = field(default_factory=dict)
    root: Path | None = None

    def train_set(self, t_length: int = 5):
        """Training clips as a :class:`~mnad.data.TensorVideos`."""
        from mnad.data import TensorVideos

        return TensorVideos(self.train, self.train_names, t_length=t_length, color="rgb")

    def test_set(self, t_length: int = 5):
        from mnad.data import TensorVideos

        return TensorVideos(self.test, self.test_names, t_length=t_length, color="rgb")

    @property
    def label_array(self) -> np.ndarray:
        """All test labels concatenated in video order, ``(n,)``."""
        return np.concatenate([self.labels[n] for n in self.test_names])


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    noise = rng.normal(0.0, 1.0, (size, size))
    # smooth with a small box filter (separable, wrap-around) for a texture, then rescale
    for axis in (0, 1):
        noise = sum(np.roll(noise, s, axis=axis) for s in (-2, -1, 0, 1, 2)) / 5.0
    noise = noise / (noise.std() + 1e-12)
    return np.clip(BACKGROUND_LEVEL + BACKGROUND_CONTRAST * noise, 0.0, 1.0)


def _bounce(pos: np.ndarray, vel: np.ndarray, lo: float, hi: float) -> None:
    for d in range(2):
        if pos[d] < lo:
            pos[d], vel[d] = 2 * lo - pos[d], -vel[d]
        elif pos[d] > hi:
            pos[d], vel[d] = 2 * hi - pos[d], -vel[d]


def make_video(rng: np.random.Generator, *, length: int = 60, size: int = 64, anomaly: str | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
    """One video ``(length, size, size)`` uint8 and its labels ``(length,)``.

    Args:
        anomaly: None (normal), ``"object"`` or ``"speed"``.
    """
    if anomaly not in (None, "object", "speed"):
        raise ValueError(f"unknown anomaly {anomaly!r}: use 'object' or 'speed'")
    bg = _background(rng, size)
    n_disks = int(rng.integers(1, 3))
    pos = rng.uniform(DISK_RADIUS + 1, size - DISK_RADIUS - 2, (n_disks, 2))
    ang = rng.uniform(0, 2 * np.pi, n_disks)
    spd = rng.uniform(1.0, 2.0, n_disks)
    vel = np.stack([spd * np.sin(ang), spd * np.cos(ang)], axis=1)
    labels = np.zeros(length, dtype=np.uint8)
    seg = (0, 0)
    if anomaly is not None:
        scale = length / 60.0
        lo, hi = int(SEGMENT_START[0] * scale), max(int(SEGMENT_START[1] * scale), int(SEGMENT_START[0] * scale))
        start = int(rng.integers(lo, hi + 1))
        seg = (start, min(start + SEGMENT, length))
        labels[seg[0]:seg[1]] = 1
    sq_y = float(rng.uniform(2, size - SQUARE_SIZE - 2))
    yy, xx = np.mgrid[0:size, 0:size]
    frames = np.empty((length, size, size), dtype=np.uint8)
    for t in range(length):
        img = bg.copy()
        if anomaly == "object" and seg[0] <= t < seg[1]:
            # drawn under the disks: "the disks continue normally" (spec 11.1), never hidden by the
            # square (an occluded disk removes motion and made the anomalous frames *easier* to predict)
            x0 = int(round(-SQUARE_SIZE // 2 + SQUARE_SPEED * (t - seg[0])))
            y0 = int(round(sq_y))
            img[y0:y0 + SQUARE_SIZE, max(x0, 0):max(x0 + SQUARE_SIZE, 0)] = SQUARE_LEVEL
        for k in range(n_disks):
            img[(yy - pos[k, 0]) ** 2 + (xx - pos[k, 1]) ** 2 <= DISK_RADIUS ** 2] = DISK_LEVEL
        frames[t] = np.round(img * 255.0).astype(np.uint8)
        factor = SPEED_FACTOR if (anomaly == "speed" and seg[0] <= t + 1 < seg[1]) else 1.0
        for k in range(n_disks):
            pos[k] += factor * vel[k]
            _bounce(pos[k], vel[k], DISK_RADIUS, size - 1 - DISK_RADIUS)
    return frames, labels


def make_dataset(
    out_dir: str | os.PathLike[str] | None = None,
    *,
    n_train: int = 8,
    n_test: int = 6,
    length: int = 60,
    size: int = 64,
    seed: int = 0,
    anomalies: Sequence[str] = ("object", "speed"),
) -> SyntheticDataset:
    """Generate the set; with ``out_dir``, also write it in the official frame-folder layout::

        out_dir/training/frames/<video>/<idx>.png
        out_dir/testing/frames/<video>/<idx>.png
        out_dir/frame_labels.npy            (1, n) uint8, test videos concatenated (official format)

    Test videos alternate between the anomaly types in ``anomalies``.
    """
    if not anomalies:
        raise ValueError("anomalies must name at least one type")
    rng = np.random.default_rng(seed)
    train, test, labels, kinds = [], [], {}, {}
    train_names = [f"{i + 1:02d}" for i in range(n_train)]
    test_names = [f"{i + 1:02d}" for i in range(n_test)]
    for _ in train_names:
        train.append(make_video(rng, length=length, size=size)[0])
    for i, name in enumerate(test_names):
        kind = anomalies[i % len(anomalies)]
        frames, lab = make_video(rng, length=length, size=size, anomaly=kind)
        test.append(frames)
        labels[name] = lab
        kinds[name] = kind
    ds = SyntheticDataset(train, test, train_names, test_names, labels, kinds)
    if out_dir is not None:
        ds.root = write_dataset(ds, out_dir)
    return ds


def write_dataset(ds: SyntheticDataset, out_dir: str | os.PathLike[str]) -> Path:
    """Write ``ds`` as PNG frame folders plus ``frame_labels.npy``; returns ``out_dir``."""
    import io

    from PIL import Image

    root = Path(out_dir)
    for split, vids, names in (("training", ds.train, ds.train_names), ("testing", ds.test, ds.test_names)):
        for name, frames in zip(names, vids):
            folder = root / split / "frames" / name
            folder.mkdir(parents=True, exist_ok=True)
            for t, f in enumerate(frames):  # plain writes: a fresh folder, no per-frame fsync
                Image.fromarray(f).save(folder / f"{t:03d}.png", format="PNG")
    buf = io.BytesIO()
    np.save(buf, ds.label_array.reshape(1, -1))
    atomic_write_bytes(root / "frame_labels.npy", buf.getvalue())
    return root
