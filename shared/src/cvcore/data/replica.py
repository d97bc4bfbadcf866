"""Write tiny replicas of official data-set layouts (same folder names, file names and formats).

Tests build a replica in ``tmp_path`` and point the real loader at it::

    r = Replica(tmp_path / "VOCdevkit" / "VOC2012")
    r.image("JPEGImages/2007_000032.jpg", rng_image(32, 48))
    r.text("ImageSets/Segmentation/val.txt", "2007_000032\\n")
    r.png_indexed("SegmentationClass/2007_000032.png", mask, palette=voc_palette())
"""

from __future__ import annotations

import json
import os
import pickle
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from cvcore.data.idx import write_idx

__all__ = ["Replica", "rng_image"]


def rng_image(h: int, w: int, channels: int = 3, *, seed: int = 0) -> np.ndarray:
    """A random ``uint8`` image ``(h, w, channels)`` (``(h, w)`` when channels is 1)."""
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 256, size=(h, w, channels), dtype=np.uint8)
    return img[..., 0] if channels == 1 else img


class Replica:
    """Writes files below ``root``; every method returns the absolute path it wrote."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, rel: str) -> Path:
        p = self.root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    def image(self, rel: str, array: np.ndarray, **save_kwargs: Any) -> Path:
        """An image file in the format of its suffix (JPEG quality 95 by default)."""
        p = self.path(rel)
        if p.suffix.lower() in (".jpg", ".jpeg"):
            save_kwargs.setdefault("quality", 95)
        Image.fromarray(np.asarray(array, dtype=np.uint8)).save(p, **save_kwargs)
        return p

    def png_indexed(self, rel: str, labels: np.ndarray, palette: Sequence[int] | np.ndarray | None = None) -> Path:
        """A palette ("P" mode) PNG of integer labels, as VOC's SegmentationClass files are."""
        p = self.path(rel)
        im = Image.fromarray(np.asarray(labels, dtype=np.uint8), mode="P")
        # a full 256-entry palette and no optimisation: Pillow would otherwise renumber labels
        pal = np.repeat(np.arange(256, dtype=np.uint8)[:, None], 3, 1) if palette is None else np.asarray(palette)
        im.putpalette([int(v) for v in pal.ravel()])
        im.save(p, optimize=False)
        return p

    def text(self, rel: str, content: str) -> Path:
        p = self.path(rel)
        p.write_text(content, encoding="utf-8")
        return p

    def lines(self, rel: str, lines: Sequence[str]) -> Path:
        return self.text(rel, "".join(f"{line}\n" for line in lines))

    def bytes(self, rel: str, content: bytes) -> Path:
        p = self.path(rel)
        p.write_bytes(content)
        return p

    def npy(self, rel: str, array: np.ndarray) -> Path:
        p = self.path(rel)
        np.save(p, array)
        return p

    def pickle(self, rel: str, obj: Any, *, protocol: int = 2) -> Path:
        p = self.path(rel)
        with open(p, "wb") as f:
            pickle.dump(obj, f, protocol=protocol)
        return p

    def json(self, rel: str, obj: Any) -> Path:
        return self.text(rel, json.dumps(obj))

    def idx(self, rel: str, array: np.ndarray) -> Path:
        return write_idx(self.path(rel), array)

    def cifar10(self, n_train_per_batch: int = 4, n_test: int = 4, *, seed: int = 0) -> Path:
        """``cifar-10-batches-py`` with 5 training batches, a test batch and ``batches.meta``."""
        rng = np.random.default_rng(seed)
        folder = "cifar-10-batches-py"
        for name, n in [*((f"data_batch_{i}", n_train_per_batch) for i in range(1, 6)), ("test_batch", n_test)]:
            self.pickle(f"{folder}/{name}", {
                b"batch_label": name.encode(),
                b"labels": rng.integers(0, 10, n).tolist(),
                b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
                b"filenames": [f"img_{i}.png".encode() for i in range(n)],
            })
        names = [b"airplane", b"automobile", b"bird", b"cat", b"deer", b"dog", b"frog", b"horse", b"ship", b"truck"]
        self.pickle(f"{folder}/batches.meta", {b"label_names": names, b"num_cases_per_batch": n_train_per_batch})
        return self.root / folder

    def fashion_mnist(self, n_train: int = 20, n_test: int = 10, *, seed: int = 0, gz: bool = True) -> Path:
        """The four Fashion-MNIST IDX files (gzipped, as Debian ships them)."""
        rng = np.random.default_rng(seed)
        ext = ".gz" if gz else ""
        for prefix, n in (("train", n_train), ("t10k", n_test)):
            self.idx(f"{prefix}-images-idx3-ubyte{ext}", rng.integers(0, 256, (n, 28, 28), dtype=np.uint8))
            self.idx(f"{prefix}-labels-idx1-ubyte{ext}", rng.integers(0, 10, n).astype(np.uint8))
        return self.root
