"""CIFAR-10/100 in the official python-pickle batch layout (``cifar-10-batches-py/``)."""

from __future__ import annotations

import os

from cvcore.data.classification import CIFAR, describe_layout
from ewgs.data.transforms import cifar_transform

__all__ = ["cifar", "describe_layout"]


def cifar(root: str | os.PathLike[str], *, num_classes: int = 10, train: bool = True, augment: bool = True) -> CIFAR:
    """CIFAR split with the §6.1 transforms (RandomCrop 32/4 + flip when ``train and augment``).

    Layout (``describe_layout("cifar")``)::

        ROOT/cifar-10-batches-py/{data_batch_1..5, test_batch, batches.meta}
        ROOT/cifar-100-python/{train, test, meta}
    """
    return CIFAR(root, num_classes=num_classes, train=train, transform=cifar_transform(train and augment))
