"""Object-on-background images with exact masks, built from the photographs inside scikit-image.

Used by ``sfnet demo`` and the tests: a photo cut-out (an ellipse, or the ``horse`` silhouette
applied to a photo) is pasted onto a texture, so the foreground mask is known exactly. Needs
scikit-image (``pip install sfnet[demo]``); nothing is downloaded.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from cvcore.errors import UserError

__all__ = ["PHOTOS", "TEXTURES", "composite", "make_composites", "threshold_mask"]

PHOTOS = ("astronaut", "chelsea", "coffee", "rocket")
TEXTURES = ("brick", "grass", "gravel")


def _skdata():
    try:
        from skimage import data
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise UserError("the demo images come from scikit-image: pip install 'sfnet[demo]'") from exc
    return data


def _rgb(a: np.ndarray, size: int) -> np.ndarray:
    a = np.asarray(a)
    if a.dtype != np.uint8:
        a = (np.clip(a.astype(np.float64) / max(float(a.max()), 1.0), 0, 1) * 255).astype(np.uint8)
    if a.ndim == 2:
        a = np.stack([a] * 3, axis=-1)
    return np.asarray(Image.fromarray(a[..., :3]).resize((size, size), Image.BILINEAR))


def threshold_mask(gray: np.ndarray, threshold: float | None = None) -> np.ndarray:
    """Binary mask (uint8 0/255) of a grey image by a global threshold (mean if not given), as
    the issue's "masks from simple thresholding"."""
    g = np.asarray(gray, dtype=np.float64)
    t = g.mean() if threshold is None else threshold
    return np.where(g > t, 255, 0).astype(np.uint8)


def composite(photo: str, texture: str, size: int = 160, shape: str = "ellipse", rng: np.random.Generator | None = None
              ) -> tuple[np.ndarray, np.ndarray]:
    """One composite image and its exact 0/255 mask.

    Args:
        photo: one of :data:`PHOTOS`; texture: one of :data:`TEXTURES`.
        size: output side length.
        shape: ``"ellipse"`` (random ellipse), ``"horse"`` (the ``skimage.data.horse`` silhouette) or
            ``"threshold"`` (the photo's bright pixels, by :func:`threshold_mask` of its grey levels).

    Returns:
        ``(image uint8 size x size x 3, mask uint8 size x size in {0, 255})``.
    """
    data = _skdata()
    rng = rng or np.random.default_rng(0)
    fg = _rgb(getattr(data, photo)(), size)
    bg = _rgb(getattr(data, texture)(), size)
    if shape == "horse":
        horse = ~np.asarray(data.horse(), dtype=bool)  # the silhouette is dark on white
        m = np.asarray(Image.fromarray(horse.astype(np.uint8) * 255).resize((size, size), Image.NEAREST)) > 127
    elif shape == "ellipse":
        yy, xx = np.mgrid[0:size, 0:size] / (size - 1)
        cx, cy = rng.uniform(0.4, 0.6, 2)
        ax, ay = rng.uniform(0.22, 0.35, 2)
        m = ((xx - cx) / ax) ** 2 + ((yy - cy) / ay) ** 2 <= 1.0
    elif shape == "threshold":
        m = threshold_mask(fg.astype(np.float64).mean(-1)) > 0
    else:
        raise ValueError(f"shape must be 'ellipse', 'horse' or 'threshold', got {shape!r}")
    img = np.where(m[..., None], fg, bg).astype(np.uint8)
    return img, (m.astype(np.uint8) * 255)


def make_composites(n: int, size: int = 160, seed: int = 0) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """``n`` composites cycling through photos, textures and shapes (deterministic for a seed)."""
    rng = np.random.default_rng(seed)
    images, masks = [], []
    for i in range(n):
        shape = ("ellipse", "ellipse", "horse", "threshold")[i % 4]
        img, m = composite(PHOTOS[i % len(PHOTOS)], TEXTURES[(i // len(PHOTOS)) % len(TEXTURES)], size, shape, rng)
        images.append(img)
        masks.append(m)
    return images, masks
