"""cvcore.reid.transforms: the two random-erasing variants and the pipelines."""

import random

import numpy as np
import pytest
import torch
from PIL import Image

from cvcore.reid import RandomColorPatch, RandomErasing, build_test_transform, build_train_transform


def test_random_erasing_bounds():
    t = RandomErasing(p=1.0)
    h, w = 64, 32
    n_erased = 0
    for _ in range(1000):
        out = t(torch.ones(3, h, w))
        if t.last_box is None:
            continue
        n_erased += 1
        y, x, bh, bw = t.last_box
        assert bh < h and bw < w and y + bh <= h and x + bw <= w
        assert 0.02 * h * w * 0.5 <= bh * bw <= 0.4 * h * w * 1.5
        assert 0.3 * 0.5 <= bh / bw <= 1 / 0.3 * 2
        assert float((out == 0).all(0).sum()) == bh * bw
    assert n_erased > 900
    assert RandomErasing(p=0.0)(torch.ones(3, 8, 8)).min() == 1


def test_color_patch_rate_bounds_and_offset():
    img = Image.new("RGB", (128, 384), (128, 128, 128))
    t = RandomColorPatch()
    hits = 0
    for _ in range(2000):
        out = t(img)
        if t.last_box is None:
            continue
        hits += 1
        left, top, pw, ph = t.last_box
        assert left > 0 and top > 0 and left + pw <= 128 and top + ph <= 384
        a = pw * ph / (128 * 384)
        assert 0.015 < a < 0.21
    assert abs(hits / 2000 - 0.75) < 0.03
    q = RandomColorPatch(official_offset=True, p_keep=1.0)
    out = np.asarray(q(img))
    left, top, pw, ph = q.last_box
    assert (left, top) == (pw, ph)  # the official quirk: pasted at (patch width, patch height)
    changed = np.argwhere((out != 128).any(2))
    if len(changed):
        assert changed.min(0).tolist() == [top, left]


def test_pipelines():
    random.seed(0)
    img = Image.fromarray(np.random.default_rng(0).integers(0, 255, (100, 50, 3)).astype(np.uint8))
    for erasing in (None, "zhong", "rrid"):
        x = build_train_transform(48, 16, erasing=erasing)(img)
        assert x.shape == (3, 48, 16)
    y = build_test_transform(48, 16, interpolation="bicubic")(img)
    assert y.shape == (3, 48, 16) and abs(float(y.mean())) < 3
    with pytest.raises(ValueError):
        build_train_transform(48, 16, erasing="cutout")
