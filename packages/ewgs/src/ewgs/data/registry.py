"""``build_datasets(name, root)``: the train/test pair of a §8 data set with its recipe transforms."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from torch.utils.data import Dataset, Subset

from ewgs.errors import ConfigError

__all__ = ["DATASETS", "DatasetPair", "build_datasets"]

DATASETS = ("cifar10", "cifar100", "imagenet", "fashion-mnist", "synthetic")


@dataclass
class DatasetPair:
    """Train and test sets plus what the model needs to know about them."""

    train: Dataset
    test: Dataset
    num_classes: int
    in_channels: int
    image_size: int


def _subset(ds: Dataset, n: int) -> Dataset:
    return ds if n <= 0 or n >= len(ds) else Subset(ds, range(n))  # type: ignore[arg-type]


def build_datasets(
    name: str, root: str | os.PathLike[str] | None = None, *, train_subset: int = 0, test_subset: int = 0,
    augment: bool = True, synthetic_size: int = 1024, image_size: int = 0, **_: Any,
) -> DatasetPair:
    """Build the pair for ``name`` in :data:`DATASETS` (first ``*_subset`` items if > 0).

    Raises:
        ConfigError: unknown name or a missing ``root``; :class:`cvcore.errors.DataError` for a root
        that does not hold the expected layout (the message shows the layout).
    """
    if name not in DATASETS:
        raise ConfigError(f"unknown dataset {name!r} (known: {', '.join(DATASETS)})")
    if name != "synthetic" and root is None:
        raise ConfigError(f"dataset {name!r} needs --data-root")
    if name in ("cifar10", "cifar100"):
        from ewgs.data.cifar import cifar

        k = 10 if name == "cifar10" else 100
        tr, te, ch, size = cifar(root, num_classes=k, augment=augment), cifar(root, num_classes=k, train=False), 3, 32
    elif name == "fashion-mnist":
        from ewgs.data.fashion_mnist import fashion_mnist

        tr, te, k, ch, size = fashion_mnist(root), fashion_mnist(root, train=False), 10, 1, 28
    elif name == "imagenet":
        from ewgs.data.imagenet import imagenet

        size = image_size or 224
        tr, te = imagenet(root, size=size, augment=augment), imagenet(root, train=False, size=size)
        k, ch = tr.num_classes, 3
    else:
        from ewgs.data.synthetic import synthetic

        size = image_size or 28
        tr = synthetic(synthetic_size, shape=(size, size))
        te = synthetic(max(synthetic_size // 4, 64), train=False, shape=(size, size))
        k, ch = 10, 1
    return DatasetPair(_subset(tr, train_subset), _subset(te, test_subset), k, ch, size)
