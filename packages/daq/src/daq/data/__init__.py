"""Data sets of the paper in their official layouts (loaders from :mod:`cvcore.data`)."""

from __future__ import annotations

from typing import Any

from torch.utils.data import Dataset, Subset

__all__ = ["DATASETS", "build_datasets"]

DATASETS = ("cifar10", "imagenet", "fashion-mnist", "synthetic")


def build_datasets(cfg: Any, *, need_train: bool = True) -> tuple[Dataset | None, Dataset, int]:
    """``(train, test, in_channels)`` for a :class:`daq.config.DataConfig`.

    Raises:
        cvcore.errors.DataError: missing or malformed data root (message names the layout).
    """
    from cvcore.errors import DataError

    name = cfg.dataset
    if name != "synthetic" and not cfg.root:
        from daq.data import cifar10 as c
        from daq.data import fashion_mnist as f
        from daq.data import imagenet as i

        layout = {"cifar10": c, "imagenet": i, "fashion-mnist": f}.get(name)
        if layout is None:
            raise DataError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")
        raise DataError(f"--data-root is required for {name}.\nExpected layout:\n{layout.describe_layout()}")
    if name == "cifar10":
        from daq.data.cifar10 import cifar10

        train = cifar10(cfg.root, train=True, augment=cfg.augment) if need_train else None
        test, ch = cifar10(cfg.root, train=False), 3
    elif name == "imagenet":
        from daq.data.imagenet import imagenet

        train = imagenet(cfg.root, train=True, augment=cfg.augment) if need_train else None
        test, ch = imagenet(cfg.root, train=False), 3
    elif name == "fashion-mnist":
        from daq.data.fashion_mnist import fashion_mnist

        train = fashion_mnist(cfg.root, train=True) if need_train else None
        test, ch = fashion_mnist(cfg.root, train=False), 1
    elif name == "synthetic":
        from daq.data.synthetic import synthetic

        ch = 3
        train = synthetic(cfg.synthetic_train, train=True, size=cfg.image_size) if need_train else None
        test = synthetic(cfg.synthetic_test, train=False, size=cfg.image_size)
    else:
        raise DataError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")
    if train is not None and cfg.train_limit:
        train = Subset(train, range(min(cfg.train_limit, len(train))))
    if cfg.test_limit:
        test = Subset(test, range(min(cfg.test_limit, len(test))))
    if len(test) == 0 or (train is not None and len(train) == 0):
        raise DataError(f"the {name} data set at {cfg.root or '(synthetic)'} is empty")
    return train, test, ch
