"""Tiny replicas of the official PF-PASCAL / PF-WILLOW / TSS / training-array layouts (for tests)."""

from __future__ import annotations

import numpy as np

from cvcore.data.replica import Replica, rng_image
from sfnet.data.tss import write_flo


def pf_pascal(root, n=3, k=5, size=(60, 80), same=True, seed=0):
    """``bbox_{val,test}_pairs_pf_pascal.csv`` + JPEGs; target = source image when ``same``."""
    r = Replica(root)
    rng = np.random.default_rng(seed)
    rows = ["source_image,target_image,class,XA,YA,XB,YB,L_pck"]
    for i in range(n):
        a = f"PF-dataset-PASCAL/JPEGImages/2009_00{i}001.jpg"
        b = f"PF-dataset-PASCAL/JPEGImages/2009_00{i}002.jpg"
        img = rng_image(*size, seed=seed + i)
        r.image(a, img)
        r.image(b, img if same else rng_image(*size, seed=100 + i))
        xs = rng.uniform(5, size[1] - 5, k).round(1)
        ys = rng.uniform(5, size[0] - 5, k).round(1)
        xs[-1] = ys[-1] = -1  # one missing point, last as in the official files
        fx = lambda v: ";".join(f"{x:g}" for x in v)  # noqa: E731
        rows.append(f"{a},{b},{1 + i % 20},{fx(xs)},{fx(ys)},{fx(xs)},{fx(ys)},{40.5 + i}")
    for split in ("val", "test"):
        r.lines(f"bbox_{split}_pairs_pf_pascal.csv", rows)
    return r.root


def pf_willow(root, n=3, size=(50, 70), seed=0):
    r = Replica(root)
    rng = np.random.default_rng(seed)
    header = ["imageA", "imageB"] + [f"XA{i}" for i in range(1, 11)] + [f"YA{i}" for i in range(1, 11)] \
        + [f"XB{i}" for i in range(1, 11)] + [f"YB{i}" for i in range(1, 11)]
    rows = [",".join(header)]
    for i in range(n):
        a, b = f"PF-dataset/car(S)/img_{i}a.png", f"PF-dataset/car(S)/img_{i}b.png"
        img = rng_image(*size, seed=seed + i)
        r.image(a, img)
        r.image(b, img)
        xs, ys = rng.uniform(3, size[1] - 3, 10), rng.uniform(3, size[0] - 3, 10)
        rows.append(",".join([a, b, *(f"{v:.2f}" for v in (*xs, *ys, *xs, *ys))]))
    r.lines("test_pairs_pf.csv", rows)
    return r.root


def tss(root, n=2, size=(40, 50), flow=(0.0, 0.0), seed=0):
    r = Replica(root)
    for subset in ("FG3DCar", "PASCAL")[:n]:
        pair = f"{subset}/0001_0002"
        img = rng_image(*size, seed=seed)
        r.image(f"{pair}/image1.png", img)
        r.image(f"{pair}/image2.png", img)
        m = np.zeros(size, np.uint8)
        m[5:-5, 5:-5] = 255
        r.image(f"{pair}/mask1.png", m)
        r.image(f"{pair}/mask2.png", m)
        f = np.zeros((2, *size), np.float32)
        f[0], f[1] = flow
        write_flo(r.path(f"{pair}/flow1.flo"), f)
        write_flo(r.path(f"{pair}/flow2.flo"), -f)
    return r.root
