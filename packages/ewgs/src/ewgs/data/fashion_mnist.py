"""Fashion-MNIST from IDX files (as Debian's ``dataset-fashion-mnist`` ships them)."""

from __future__ import annotations

import os

from cvcore.data.classification import FashionMNIST, describe_layout
from ewgs.data.transforms import normalize

__all__ = ["FASHION_MEAN", "FASHION_STD", "describe_layout", "fashion_mnist"]

#: Fashion-MNIST training-set mean/std of the [0, 1] pixels.
FASHION_MEAN = (0.2860,)
FASHION_STD = (0.3530,)


def fashion_mnist(root: str | os.PathLike[str], *, train: bool = True) -> FashionMNIST:
    """Fashion-MNIST split, normalized; ``(1, 28, 28)`` images, 10 classes.

    Layout (``describe_layout("fashion-mnist")``)::

        ROOT/train-images-idx3-ubyte[.gz]  ROOT/train-labels-idx1-ubyte[.gz]
        ROOT/t10k-images-idx3-ubyte[.gz]   ROOT/t10k-labels-idx1-ubyte[.gz]
    """
    return FashionMNIST(root, train=train, transform=normalize(FASHION_MEAN, FASHION_STD))
