"""Synthetic pedestrian-like identities written in the Market-1501 file layout (spec §2.11).

Each identity has a deterministic look (shirt, trousers, hair, skin, optional shirt stripes,
optional bag, body width); each image adds camera nuisance (background colour and gradient,
colour cast, brightness), a horizontal shift, scale, leg spread, Gaussian noise and JPEG coding.
Used by tests and demos; :func:`oracle_features` (colour histograms of the body) validates it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

__all__ = ["identity_attributes", "make_market_like_dataset", "oracle_features", "render_person"]


def identity_attributes(pid: int, seed: int = 0) -> dict[str, Any]:
    """The deterministic appearance of identity ``pid`` (colours as RGB ints)."""
    rng = np.random.default_rng([seed, 7919, pid + 1000])
    col = lambda lo=20, hi=236: [int(v) for v in rng.integers(lo, hi, 3)]  # noqa: E731
    return {
        "shirt": col(), "trousers": col(10, 200), "hair": col(0, 120),
        "skin": [int(v) for v in np.array([224, 172, 140]) * rng.uniform(0.55, 1.05)],
        "stripes": bool(rng.random() < 0.4), "stripe_color": col(),
        "bag": str(rng.choice(["none", "left", "right"], p=[0.5, 0.25, 0.25])), "bag_color": col(30, 160),
        "body_width": float(rng.uniform(0.34, 0.5)),
    }


def _camera(cam: int, seed: int) -> dict[str, Any]:
    rng = np.random.default_rng([seed, 104729, cam])
    return {"bg": rng.integers(60, 200, 3), "grad": rng.uniform(-40, 40, 3), "cast": rng.uniform(0.92, 1.08, 3),
            "brightness": float(rng.uniform(0.9, 1.1))}


def render_person(attrs: dict[str, Any], cam: int, rng: np.random.Generator, size: tuple[int, int] = (128, 64),
                  seed: int = 0) -> np.ndarray:
    """One ``(H, W, 3)`` uint8 image of a person with ``attrs`` seen by camera ``cam``."""
    h, w = size
    c = _camera(cam, seed)
    yy = np.linspace(0, 1, h)[:, None, None]
    img = np.broadcast_to(c["bg"] + yy * c["grad"], (h, w, 3)).astype(np.float64).copy()
    scale = rng.uniform(0.85, 1.0)
    ph = scale * h * 0.94
    top = (h - ph) / 2 + rng.uniform(-2, 2)
    cx = w / 2 + rng.uniform(-6, 6)
    bw = attrs["body_width"] * w * scale
    spread = rng.uniform(0.0, 0.12) * w

    def rect(y0: float, y1: float, x0: float, x1: float, color: Sequence[int]) -> None:
        a, b = int(round(np.clip(y0, 0, h))), int(round(np.clip(y1, 0, h)))
        left, right = int(round(np.clip(x0, 0, w))), int(round(np.clip(x1, 0, w)))
        img[a:b, left:right] = color

    # head (hair on top) and neck
    hr = 0.075 * ph
    hy, yy2, xx2 = top + hr, np.arange(h)[:, None], np.arange(w)[None, :]
    head = (yy2 - hy) ** 2 / hr ** 2 + (xx2 - cx) ** 2 / (0.8 * hr) ** 2 <= 1
    img[head] = attrs["skin"]
    img[head & (yy2 < hy - 0.2 * hr)] = attrs["hair"]
    # legs (trousers), with spread
    y_hip, y_foot = top + 0.52 * ph, top + ph
    lw = bw * 0.42
    rect(y_hip, y_foot, cx - bw / 2 - spread / 2, cx - bw / 2 - spread / 2 + lw, attrs["trousers"])
    rect(y_hip, y_foot, cx + bw / 2 + spread / 2 - lw, cx + bw / 2 + spread / 2, attrs["trousers"])
    rect(y_hip, y_hip + 0.08 * ph, cx - bw / 2, cx + bw / 2, attrs["trousers"])
    # torso (shirt, optional stripes)
    y0, y1 = top + 2 * hr, top + 0.54 * ph
    rect(y0, y1, cx - bw / 2, cx + bw / 2, attrs["shirt"])
    if attrs["stripes"]:
        step = max(2, int(0.05 * ph))
        for ys in np.arange(y0 + step, y1 - 1, 2 * step):
            rect(ys, ys + step, cx - bw / 2, cx + bw / 2, attrs["stripe_color"])
    if attrs["bag"] != "none":
        side = -1 if attrs["bag"] == "left" else 1
        bx = cx + side * (bw / 2 + 0.06 * w)
        rect(top + 0.3 * ph, top + 0.5 * ph, bx - 0.08 * w, bx + 0.08 * w, attrs["bag_color"])
    img = img * c["cast"] * c["brightness"] + rng.normal(0, 4.0, img.shape)
    return np.clip(img, 0, 255).round().astype(np.uint8)


def _name(pid: int, cam: int, frame: int, box: int, layout: str) -> str:
    p = "-1" if pid < 0 else f"{pid:04d}"
    return f"{p}_c{cam}_f{frame:07d}.jpg" if layout == "duke" else f"{p}_c{cam}s1_{frame:06d}_{box:02d}.jpg"


def make_market_like_dataset(root: str | os.PathLike[str], num_train_ids: int = 12, num_test_ids: int = 10,
                             num_cams: int = 4, imgs_per_id_cam: tuple[int, int] = (1, 3),
                             size: tuple[int, int] = (128, 64), num_distractors: int = 6, num_junk: int = 4,
                             seed: int = 0, jpeg_quality: int = 92, layout: str = "market") -> dict[str, Any]:
    """Write a synthetic data set under ``root/Market-1501-v15.09.15/`` (``root/DukeMTMC-reID/``
    with ``layout="duke"``, which has no junk images) and return its manifest.

    Train pids are ``1..num_train_ids``, test pids follow. Every identity appears in 2..num_cams
    cameras with ``imgs_per_id_cam`` (inclusive) images each. Each test pid gets one query image
    per camera in a subset that leaves out at least one of its cameras, so every query has a
    gallery match from another camera. Distractors (pid 0) and junk (pid -1) go to the gallery.

    Returns:
        The manifest (also written to ``<dataset folder>/manifest.json``): ``root``, ``counts``
        (``{split: {"images", "ids"}}``, junk excluded), ``pids``, ``cameras``, ``attributes``.
    """
    if layout not in ("market", "duke"):
        raise ValueError(f"layout must be 'market' or 'duke', got {layout!r}")
    if num_cams < 2 or num_cams > 99:
        raise ValueError("num_cams must be in [2, 99]")
    base = Path(root) / ("DukeMTMC-reID" if layout == "duke" else "Market-1501-v15.09.15")
    dirs = {s: base / d for s, d in (("train", "bounding_box_train"), ("query", "query"), ("gallery", "bounding_box_test"))}
    for d in dirs.values():
        d.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng([seed, 31337])
    frame = [0]
    files: dict[str, list[tuple[str, int, int]]] = {s: [] for s in dirs}

    def write(split: str, pid: int, cam: int, arr: np.ndarray) -> None:
        frame[0] += 1
        name = _name(pid, cam, frame[0] * 7 + 11, int(rng.integers(0, 10)), layout)
        Image.fromarray(arr).save(dirs[split] / name, quality=jpeg_quality)
        files[split].append((name, pid, cam))

    attrs = {}
    lo, hi = imgs_per_id_cam
    train_pids = list(range(1, num_train_ids + 1))
    test_pids = list(range(num_train_ids + 1, num_train_ids + num_test_ids + 1))
    for pid in train_pids + test_pids:
        a = identity_attributes(pid, seed)
        attrs[pid] = a
        cams = sorted(rng.choice(np.arange(1, num_cams + 1), int(rng.integers(2, num_cams + 1)), replace=False).tolist())
        if pid in train_pids:
            for cam in cams:
                for _ in range(int(rng.integers(lo, hi + 1))):
                    write("train", pid, cam, render_person(a, cam, rng, size, seed))
            continue
        q_cams = set(rng.choice(cams, int(rng.integers(1, len(cams))), replace=False).tolist())
        for cam in cams:
            n = int(rng.integers(lo, hi + 1))
            if cam in q_cams:
                write("query", pid, cam, render_person(a, cam, rng, size, seed))
            for _ in range(n):
                write("gallery", pid, cam, render_person(a, cam, rng, size, seed))
    for k in range(num_distractors):
        a = identity_attributes(100000 + k, seed)
        write("gallery", 0, int(rng.integers(1, num_cams + 1)), render_person(a, 1, rng, size, seed))
    if layout == "market":
        for _ in range(num_junk):
            junk = rng.integers(0, 256, (size[0], size[1], 3)).astype(np.uint8)
            write("gallery", -1, int(rng.integers(1, num_cams + 1)), junk)

    def stats(recs: list[tuple[str, int, int]]) -> dict[str, int]:
        kept = [r for r in recs if r[1] != -1]
        return {"images": len(kept), "ids": len({r[1] for r in kept})}

    manifest = {
        "root": str(base), "layout": layout, "seed": seed, "size": list(size),
        "counts": {s: stats(v) for s, v in files.items()},
        "num_junk": sum(1 for r in files["gallery"] if r[1] == -1),
        "pids": {"train": train_pids, "test": test_pids},
        "cameras": list(range(1, num_cams + 1)),
        "files": {s: [list(r) for r in v] for s, v in files.items()},
        "attributes": {str(k): v for k, v in attrs.items()},
    }
    (base / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return manifest


def oracle_features(paths: Sequence[str | os.PathLike[str]], bins: int = 6, seed: int = 0) -> np.ndarray:
    """Colour-histogram "oracle" descriptors ``(N, 3 * bins**3)``, L2-normalised float32.

    The oracle knows the generator: it reads the camera from the file name, undoes that camera's
    colour cast and brightness, keeps the pixels that differ from the camera's background, and
    takes square-rooted RGB histograms of the foreground in three bands (head, torso, legs).
    ``seed`` must be the one the data set was generated with.
    """
    from cvcore.data.images import read_image
    from cvcore.reid.data import MARKET_NAME

    feats = []
    for p in paths:
        img = read_image(p).astype(np.float64)
        h, w = img.shape[:2]
        m = MARKET_NAME.match(Path(p).name)
        cam = _camera(int(m.group(2)) if m else 1, seed)
        img = img / (cam["cast"] * cam["brightness"])
        bg = cam["bg"] + np.linspace(0, 1, h)[:, None, None] * cam["grad"]
        fg = np.abs(img - bg).max(axis=2) > 20.0
        parts = []
        for y0, y1 in ((0.0, 0.2), (0.2, 0.5), (0.5, 1.0)):
            a, b = int(y0 * h), int(y1 * h)
            reg = img[a:b][fg[a:b]]
            q = np.clip((reg / 256.0 * bins).astype(int), 0, bins - 1)
            hist = np.bincount(q[:, 0] * bins * bins + q[:, 1] * bins + q[:, 2], minlength=bins ** 3).astype(np.float64)
            parts.append(np.sqrt(hist / max(hist.sum(), 1.0)))
        f = np.concatenate(parts)
        feats.append(f / max(np.linalg.norm(f), 1e-12))
    return np.asarray(feats, dtype=np.float32)
