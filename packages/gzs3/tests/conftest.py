"""Fixtures of the gzs3 tests (the cvcore pytest plugin seeds, blocks the network, sets threads)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cvcore.data.replica import Replica, rng_image
from cvcore.viz import voc_palette

VOC_IDS = ["2007_000032", "2007_000033", "2007_000039", "2007_000042"]


def _label(h: int, w: int, ids: list[int], seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    lab = np.zeros((h, w), np.uint8)
    for c in ids:
        y, x = rng.integers(0, h - 8), rng.integers(0, w - 8)
        lab[y:y + 8, x:x + 8] = c
    lab[0, :] = 255
    return lab


@pytest.fixture
def voc_root(tmp_path):
    """A tiny VOC2012 + SegmentationClassAug replica; image 1 contains cow (10, unseen in K=2)."""
    r = Replica(tmp_path / "VOCdevkit" / "VOC2012")
    classes = [[15], [10, 15], [1, 2], [0]]
    lines = []
    for i, (img_id, cls) in enumerate(zip(VOC_IDS, classes)):
        h, w = 24 + 2 * i, 32
        lab = _label(h, w, cls, i)
        r.image(f"JPEGImages/{img_id}.jpg", rng_image(h, w, seed=i))
        r.png_indexed(f"SegmentationClass/{img_id}.png", lab, palette=voc_palette())
        r.image(f"SegmentationClassAug/{img_id}.png", lab)  # grey class ids
        lines.append(f"/JPEGImages/{img_id}.jpg /SegmentationClassAug/{img_id}.png")
    r.lines("ImageSets/Segmentation/train_aug.txt", lines)
    r.lines("ImageSets/Segmentation/val.txt", VOC_IDS)
    return r.root


@pytest.fixture
def context_root(tmp_path):
    """A tiny PASCAL Context replica: 59_labels.pth dict + list files; images in a VOC2012 folder."""
    voc = Replica(tmp_path / "VOC2012")
    ctx = Replica(tmp_path / "context")
    labels = {}
    train, val = [], []
    for i, cls in enumerate([[15, 25], [32, 50], [10], [56]]):
        stem = f"2008_00000{i}"
        lab = _label(20, 28, cls, 10 + i)
        lab[lab == 255] = 0
        labels[stem] = torch.from_numpy(lab.astype(np.int64))
        voc.image(f"JPEGImages/{stem}.jpg", rng_image(20, 28, seed=i))
        (train if i < 3 else val).append(f"JPEGImages/{stem}.jpg labels/{stem}.png")
    val.append(train[0])
    torch.save(labels, ctx.path("59_labels.pth"))
    ctx.lines("pascal_context_train.txt", train)
    ctx.lines("pascal_context_val.txt", val)
    return ctx.root, voc.root
