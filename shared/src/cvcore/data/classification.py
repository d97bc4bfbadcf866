"""Image-classification data sets in their official on-disk layouts.

Each class keeps the whole split in memory as ``data`` (uint8, ``(N, H, W)`` or ``(N, H, W, 3)``)
and ``targets`` (int64 ``(N,)``) when the set is small, so that tiny models can train from
tensors directly; ``__getitem__`` returns ``(image, label)`` with ``image`` a float
``(C, H, W)`` tensor in [0, 1] passed through ``transform`` if one is given.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from torch.utils.data import Dataset

from cvcore.data.idx import read_idx
from cvcore.errors import DataError

__all__ = ["CIFAR", "FashionMNIST", "ImageNetFolder", "SyntheticClassification", "describe_layout"]

Transform = Callable[[torch.Tensor], torch.Tensor]

_CIFAR_LAYOUT = """\
CIFAR-10 (python version, as unpacked from cifar-10-python.tar.gz):
  ROOT/cifar-10-batches-py/{data_batch_1..5, test_batch, batches.meta}
CIFAR-100:
  ROOT/cifar-100-python/{train, test, meta}
Each batch is a pickle of {b'data': uint8 (N, 3072), b'labels' | b'fine_labels': [...]}."""

_FMNIST_LAYOUT = """\
Fashion-MNIST (IDX files, gzipped or not; the Debian package dataset-fashion-mnist
installs them in /usr/share/datasets/fashion-mnist):
  ROOT/train-images-idx3-ubyte[.gz]  ROOT/train-labels-idx1-ubyte[.gz]
  ROOT/t10k-images-idx3-ubyte[.gz]   ROOT/t10k-labels-idx1-ubyte[.gz]"""

_IMAGENET_LAYOUT = """\
ImageNet (ILSVRC-2012) in ImageFolder layout:
  ROOT/train/<wnid>/*.JPEG   ROOT/val/<wnid>/*.JPEG   (val sorted into class folders)"""


def describe_layout(name: Literal["cifar", "fashion-mnist", "imagenet"]) -> str:
    """The expected on-disk layout of a data set, as shown in error messages."""
    return {"cifar": _CIFAR_LAYOUT, "fashion-mnist": _FMNIST_LAYOUT, "imagenet": _IMAGENET_LAYOUT}[name]


class _ArrayDataset(Dataset):
    data: np.ndarray
    targets: torch.Tensor
    transform: Transform | None

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        img = torch.from_numpy(np.ascontiguousarray(self.data[i])).float().div_(255.0)
        img = img.unsqueeze(0) if img.ndim == 2 else img.permute(2, 0, 1)
        if self.transform is not None:
            img = self.transform(img)
        return img, int(self.targets[i])

    def tensors(self) -> tuple[torch.Tensor, torch.Tensor]:
        """All images as float ``(N, C, H, W)`` in [0, 1] and labels ``(N,)`` (no transform)."""
        x = torch.from_numpy(self.data).float().div_(255.0)
        x = x.unsqueeze(1) if x.ndim == 3 else x.permute(0, 3, 1, 2).contiguous()
        return x, self.targets.clone()


def _unpickle(path: Path) -> dict[bytes, Any]:
    try:
        with open(path, "rb") as f:
            return pickle.load(f, encoding="bytes")
    except (OSError, pickle.UnpicklingError, EOFError, ValueError) as exc:
        raise DataError(f"cannot read CIFAR batch {path}: {exc}") from exc


class CIFAR(_ArrayDataset):
    """CIFAR-10 / CIFAR-100 from the official python pickle batches.

    Args:
        root: folder holding ``cifar-10-batches-py`` / ``cifar-100-python`` (or that folder itself).
        num_classes: 10 or 100.
        train: training split (50k) or test split (10k).
    """

    def __init__(
        self, root: str | os.PathLike[str], *, num_classes: int = 10, train: bool = True,
        transform: Transform | None = None,
    ) -> None:
        if num_classes not in (10, 100):
            raise ValueError(f"num_classes must be 10 or 100, got {num_classes}")
        sub = "cifar-10-batches-py" if num_classes == 10 else "cifar-100-python"
        base = Path(root)
        folder = base if base.name == sub else base / sub
        if not folder.is_dir():
            raise DataError(f"CIFAR-{num_classes} not found at {folder}.\nExpected layout:\n{_CIFAR_LAYOUT}")
        if num_classes == 10:
            names = [f"data_batch_{i}" for i in range(1, 6)] if train else ["test_batch"]
            label_key = b"labels"
        else:
            names = ["train" if train else "test"]
            label_key = b"fine_labels"
        missing = [n for n in names if not (folder / n).is_file()]
        if missing:
            raise DataError(f"CIFAR-{num_classes} files missing in {folder}: {missing}\nExpected layout:\n{_CIFAR_LAYOUT}")
        data, labels = [], []
        for n in names:
            batch = _unpickle(folder / n)
            if b"data" not in batch or label_key not in batch:
                raise DataError(f"{folder / n} is not a CIFAR-{num_classes} batch (keys {list(batch)[:4]})")
            data.append(np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
            labels.extend(int(v) for v in batch[label_key])
        self.data = np.concatenate(data).transpose(0, 2, 3, 1).copy()
        self.targets = torch.tensor(labels, dtype=torch.int64)
        if self.targets.numel() and (self.targets.min() < 0 or self.targets.max() >= num_classes):
            raise DataError(f"CIFAR-{num_classes} labels out of range in {folder}")
        self.num_classes = num_classes
        self.transform = transform


def _find_idx(root: Path, stem: str) -> Path:
    for cand in (root / stem, root / f"{stem}.gz"):
        if cand.is_file():
            return cand
    raise DataError(f"Fashion-MNIST file {stem}[.gz] not found in {root}.\nExpected layout:\n{_FMNIST_LAYOUT}")


class FashionMNIST(_ArrayDataset):
    """Fashion-MNIST (or MNIST) from IDX files: 28x28 gray images, 10 classes."""

    def __init__(self, root: str | os.PathLike[str], *, train: bool = True, transform: Transform | None = None) -> None:
        base = Path(root)
        if not base.is_dir():
            raise DataError(f"Fashion-MNIST folder not found: {base}\nExpected layout:\n{_FMNIST_LAYOUT}")
        prefix = "train" if train else "t10k"
        images = read_idx(_find_idx(base, f"{prefix}-images-idx3-ubyte"))
        labels = read_idx(_find_idx(base, f"{prefix}-labels-idx1-ubyte"))
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise DataError(f"Fashion-MNIST in {base}: images {images.shape} and labels {labels.shape} do not match")
        self.data = images.astype(np.uint8, copy=False)
        self.targets = torch.from_numpy(labels.astype(np.int64))
        self.num_classes = 10
        self.transform = transform


class ImageNetFolder(Dataset):
    """ImageNet in ImageFolder layout (``split/<wnid>/*.JPEG``), classes sorted by name."""

    def __init__(
        self, root: str | os.PathLike[str], *, split: Literal["train", "val"] = "train",
        transform: Callable[[Any], torch.Tensor] | None = None,
    ) -> None:
        from cvcore.data.images import IMAGE_EXTENSIONS

        folder = Path(root) / split
        if not folder.is_dir():
            raise DataError(f"ImageNet split not found: {folder}\nExpected layout:\n{_IMAGENET_LAYOUT}")
        self.classes = sorted(d.name for d in folder.iterdir() if d.is_dir())
        if not self.classes:
            raise DataError(f"no class folders in {folder}\nExpected layout:\n{_IMAGENET_LAYOUT}")
        self.class_to_idx = {c: i for i, c in enumerate(self.classes)}
        self.samples = [
            (p, self.class_to_idx[c])
            for c in self.classes
            for p in sorted((folder / c).iterdir())
            if p.suffix.lower() in IMAGE_EXTENSIONS
        ]
        if not self.samples:
            raise DataError(f"no images under {folder}\nExpected layout:\n{_IMAGENET_LAYOUT}")
        self.targets = torch.tensor([t for _, t in self.samples], dtype=torch.int64)
        self.num_classes = len(self.classes)
        self.transform = transform

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        from PIL import Image

        from cvcore.data.images import read_image

        path, label = self.samples[i]
        if self.transform is None:
            img = torch.from_numpy(read_image(path)).permute(2, 0, 1).float().div_(255.0)
        else:
            img = self.transform(Image.fromarray(read_image(path)))
        return img, label


class SyntheticClassification(_ArrayDataset):
    """A learnable synthetic image set: each class is a fixed random pattern plus noise.

    Args:
        n: number of images; shape: ``(H, W)`` or ``(H, W, 3)``; num_classes: classes;
        noise: standard deviation of the per-image noise in [0, 255] units;
        seed: fixes the class patterns; train: the training and test splits share the patterns
            but draw their images from different streams.
    """

    def __init__(
        self, n: int = 1024, *, shape: tuple[int, ...] = (28, 28), num_classes: int = 10,
        noise: float = 40.0, seed: int = 0, train: bool = True, transform: Transform | None = None,
    ) -> None:
        rng = np.random.default_rng(seed)
        protos = rng.uniform(0, 255, size=(num_classes, *shape))
        # smooth the prototypes a little so that convolutions have structure to find
        from scipy.ndimage import gaussian_filter

        sig = (0, 1.5, 1.5) + ((0,) if len(shape) == 3 else ())
        protos = gaussian_filter(protos, sigma=sig)
        protos = (protos - protos.mean()) / (protos.std() + 1e-8) * 60 + 128
        sample_rng = np.random.default_rng([seed, 1 if train else 2])
        labels = sample_rng.integers(0, num_classes, size=n)
        imgs = protos[labels] + sample_rng.normal(0, noise, size=(n, *shape))
        self.data = np.clip(imgs, 0, 255).astype(np.uint8)
        self.targets = torch.from_numpy(labels.astype(np.int64))
        self.num_classes = num_classes
        self.transform = transform
