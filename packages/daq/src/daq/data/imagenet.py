"""ImageNet (ILSVRC-2012) in ImageFolder layout (``ROOT/{train,val}/<wnid>/*.JPEG``), read by
:class:`cvcore.data.classification.ImageNetFolder`, with the standard torchvision recipe."""

from __future__ import annotations

from pathlib import Path

from torch.utils.data import Dataset

from daq.data.transforms import IMAGENET_MEAN, IMAGENET_STD

__all__ = ["describe_layout", "imagenet"]


def describe_layout() -> str:
    from cvcore.data.classification import describe_layout as d

    return d("imagenet")


def imagenet(root: str | Path, *, train: bool, augment: bool = True, size: int = 224) -> Dataset:
    """Train: RandomResizedCrop(224) + flip; val: Resize(256) + CenterCrop(224); ImageNet mean/std."""
    from torchvision import transforms as T

    from cvcore.data.classification import ImageNetFolder

    norm = [T.ToTensor(), T.Normalize(IMAGENET_MEAN, IMAGENET_STD)]
    if train and augment:
        tf = T.Compose([T.RandomResizedCrop(size), T.RandomHorizontalFlip(), *norm])
    else:
        tf = T.Compose([T.Resize(int(size * 256 / 224)), T.CenterCrop(size), *norm])
    return ImageNetFolder(root, split="train" if train else "val", transform=tf)
