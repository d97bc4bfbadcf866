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


def tss(root, n=2, size=(40, 50), flow=(0.0, 0.0), seed=0, flip=False, csv=False, prefix="", size2=None):
    """TSS pair folders (``image1/2.png``, ``mask1/2.png``, ``flow1/2.flo``); image2 = image1.

    ``flip``: image2 is image1 mirrored and ``flip_gt.txt`` says 1, so the ground-truth flows (into
    the flipped other image) stay ``flow``. ``csv``: also write weakalign's ``test_pairs_tss.csv``
    (paths prefixed with ``prefix``). ``size2``: a different size for image2 (random content).
    """
    r = Replica(root)
    rows = ["source_image,target_image,flow_direction,flip,category"]
    for c, subset in enumerate(("FG3DCar", "PASCAL")[:n]):
        pair = f"{prefix}{subset}/0001_0002"
        img = rng_image(*size, seed=seed)
        img2 = rng_image(*size2, seed=seed + 1) if size2 else (np.ascontiguousarray(img[:, ::-1]) if flip else img)
        r.image(f"{pair}/image1.png", img)
        r.image(f"{pair}/image2.png", img2)
        for d, shape in ((1, img.shape[:2]), (2, img2.shape[:2])):
            m = np.zeros(shape, np.uint8)
            m[5:-5, 5:-5] = 255
            r.image(f"{pair}/mask{d}.png", m)
            f = np.zeros((2, *shape), np.float32)
            f[0], f[1] = flow if d == 1 else (-flow[0], -flow[1])
            write_flo(r.path(f"{pair}/flow{d}.flo"), f)
        if flip:
            r.text(f"{pair}/flip_gt.txt", "1\n")
        rows += [f"{pair}/image2.png,{pair}/image1.png,1,{int(flip)},{c + 1}",
                 f"{pair}/image1.png,{pair}/image2.png,2,{int(flip)},{c + 1}"]
    if csv:
        r.lines("test_pairs_tss.csv", rows)
    return r.root


def rect_polygon(x0, y0, x1, y1):
    """Vertices of the rectangle whose rasterisation is pixels ``x0..x1 x y0..y1`` (inclusive):
    half-pixel margins keep every pixel centre off the edges."""
    xs = [x0 - 0.5, x1 + 0.5, x1 + 0.5, x0 - 0.5]
    ys = [y0 - 0.5, y0 - 0.5, y1 + 0.5, y1 + 0.5]
    return np.array([xs, ys], np.float64)


def caltech(root, pairs=None, size=(48, 64), seed=0, alias=True, annotations=True):
    """``test_pairs_caltech_with_category.csv`` + ``101_ObjectCategories`` JPEGs + ``Annotations`` .mat files.

    ``pairs``: list of ``(category, source_polygon, target_polygon, same_image)``; polygons ``2 x N``.
    With ``alias`` the ``Faces`` annotations go to ``Annotations/Faces_2`` (the original folder name);
    ``annotations=False`` skips the .mat files (and the scipy import). Returns the root.
    """
    r = Replica(root)
    if pairs is None:
        pairs = [("Faces", rect_polygon(10, 8, 40, 30), rect_polygon(10, 8, 40, 30), True),
                 ("ant", rect_polygon(5, 5, 25, 20), rect_polygon(15, 5, 35, 20), True),
                 ("yin_yang", np.array([[8.2, 50.7, 30.1], [4.4, 12.9, 40.3]]),
                  np.array([[12.6, 55.1, 20.9, 9.3], [6.1, 20.2, 44.8, 30.5]]), False)]
    from sfnet.data.caltech import ANNOTATION_ALIASES, CALTECH_CATEGORIES

    rows = ["source_image,target_image,class,XA,YA,XB,YB"]
    counter: dict[str, int] = {}
    for i, (cat, sp, tp, same) in enumerate(pairs):
        names = []
        for j, poly in enumerate((sp, tp)):
            counter[cat] = counter.get(cat, 0) + 1
            num = f"{counter[cat]:04d}"
            img = rng_image(*size, seed=seed + i if (same or j == 0) else seed + 100 + i)
            names.append(f"101_ObjectCategories/{cat}/image_{num}.jpg")
            r.image(names[-1], img)
            left, top = np.floor(poly[0].min()), np.floor(poly[1].min())  # box corner; contour relative to it
            box = np.array([[top, np.ceil(poly[1].max()), left, np.ceil(poly[0].max())]], np.float64)
            folder = ANNOTATION_ALIASES.get(cat, cat) if alias else cat
            if not annotations:
                continue
            from scipy.io import savemat

            savemat(r.path(f"Annotations/{folder}/annotation_{num}.mat"),
                    {"box_coord": box, "obj_contour": np.stack([poly[0] - left, poly[1] - top])})
        fx = lambda v: '"' + ",".join(f"{x:.10g}" for x in v) + '"'  # noqa: E731
        rows.append(",".join([*names, str(CALTECH_CATEGORIES.index(cat) + 1), fx(sp[0]), fx(sp[1]), fx(tp[0]),
                              fx(tp[1])]))
    r.lines("test_pairs_caltech_with_category.csv", rows)
    return r.root
