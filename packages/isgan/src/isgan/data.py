"""Data pipelines of IS-GAN on the shared re-ID toolkit (spec section 3 "Data").

Datasets, parsers, the P x K identity sampler and random erasing come from :mod:`cvcore.reid`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from torch.utils.data import DataLoader

from cvcore.errors import DataError

__all__ = ["DATASETS", "load_dataset", "test_loader", "train_loader"]

DATASETS = ("market1501", "dukemtmc", "cuhk03-labeled", "cuhk03-detected")


def load_dataset(name: str, root: str | os.PathLike[str] | None) -> Any:
    """A :class:`cvcore.reid.ReIDDataset` (train pids relabelled to ``0..C-1``)."""
    from cvcore.reid import build_dataset

    if root is None:
        raise DataError(f"--data-root is required for dataset {name!r}")
    if not Path(root).is_dir():
        raise DataError(f"data root not found: {root}")
    return build_dataset(name, root)


def train_loader(dataset: Any, *, height: int, width: int, stage: int, ids_per_batch: int = 4,
                 images_per_id: int = 4, seed: int = 0, num_workers: int = 0) -> DataLoader:
    """P x K identity-sampled batches ``(image, pid, camid, path)``; bicubic 384x128 resize,
    flip; random erasing (p 0.5, value 0) in stage 1 only. Incomplete batches are dropped."""
    from cvcore.reid import ImageDataset, build_train_transform, make_pk_loader

    tf = build_train_transform(height, width, flip=True, erasing="zhong" if stage == 1 else None,
                               interpolation="bicubic")
    ds = ImageDataset(dataset.train, tf)
    return make_pk_loader(ds, ds.pids, ids_per_batch * images_per_id, images_per_id, mode="identity", seed=seed,
                          num_workers=num_workers, drop_last=True)


def test_loader(records: Any, *, height: int, width: int, batch_size: int = 8, num_workers: int = 0) -> DataLoader:
    """Query or gallery records in order (batch 8, no shuffle), bicubic resize, ImageNet normalisation."""
    from cvcore.reid import ImageDataset, build_test_transform

    ds = ImageDataset(records, build_test_transform(height, width, interpolation="bicubic"))
    return DataLoader(ds, batch_size=batch_size, shuffle=False, num_workers=num_workers)
