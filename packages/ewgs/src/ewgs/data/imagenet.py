"""ImageNet ILSVRC-2012 in ImageFolder layout (``train/<wnid>/*.JPEG``, ``val/<wnid>/*.JPEG``)."""

from __future__ import annotations

import os

from cvcore.data.classification import ImageNetFolder, describe_layout
from ewgs.data.transforms import IMAGENET_MEAN, IMAGENET_STD

__all__ = ["describe_layout", "imagenet"]


def imagenet(root: str | os.PathLike[str], *, train: bool = True, size: int = 224, augment: bool = True) -> ImageNetFolder:
    """ImageNet split with §6.2 transforms: RandomResizedCrop(224) + flip (train), Resize(256) +
    CenterCrop(224) (val), ImageNet normalization. ``size`` scales both (tests use tiny images)."""
    from torchvision.transforms import v2

    tail = [v2.ToImage(), v2.ToDtype(__import__("torch").float32, scale=True),
            v2.Normalize(list(IMAGENET_MEAN), list(IMAGENET_STD))]
    if train and augment:
        tf = v2.Compose([v2.RandomResizedCrop(size), v2.RandomHorizontalFlip(), *tail])
    else:
        tf = v2.Compose([v2.Resize(size * 256 // 224), v2.CenterCrop(size), *tail])
    return ImageNetFolder(root, split="train" if train else "val", transform=tf)
