"""Readers for common file formats and the data sets two or more packages share.

- :mod:`~cvcore.data.images`: image reading (RGB/gray, EXIF orientation, clear errors) and writing.
- :mod:`~cvcore.data.idx`: IDX (MNIST-format) arrays, plain or gzipped.
- :mod:`~cvcore.data.classification`: CIFAR-10/100 (python pickle batches), Fashion-MNIST (IDX),
  ImageNet (ImageFolder), and a synthetic classification set.
- :mod:`~cvcore.data.replica`: writes tiny replicas of official on-disk layouts for tests.
"""

from cvcore.data.idx import read_idx, write_idx
from cvcore.data.images import IMAGE_EXTENSIONS, list_images, read_image, read_image_tensor, write_image

__all__ = [
    "IMAGE_EXTENSIONS",
    "list_images",
    "read_idx",
    "read_image",
    "read_image_tensor",
    "write_idx",
    "write_image",
]
