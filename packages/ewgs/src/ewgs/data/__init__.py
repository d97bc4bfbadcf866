"""Data sets of §8 in their official layouts (readers in :mod:`cvcore.data.classification`)."""

from ewgs.data.cifar import cifar
from ewgs.data.fashion_mnist import fashion_mnist
from ewgs.data.imagenet import imagenet
from ewgs.data.registry import DATASETS, DatasetPair, build_datasets
from ewgs.data.synthetic import synthetic

__all__ = ["DATASETS", "DatasetPair", "build_datasets", "cifar", "fashion_mnist", "imagenet", "synthetic"]
