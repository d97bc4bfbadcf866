"""The openly licensed photographs bundled with scikit-image (BSD-3), split as in spec section 11.1.

scikit-image is not a runtime dependency: :func:`load_photo` imports it lazily and raises a
:class:`~cvcore.errors.DataError` with instructions when it is missing.
"""

from __future__ import annotations

import numpy as np

from cvcore.errors import DataError

__all__ = ["TINY_EVAL", "TINY_TRAIN", "load_photo", "photo_pairs"]

TINY_EVAL = ("astronaut", "camera", "chelsea", "coffee", "rocket")
TINY_TRAIN = ("immunohistochemistry", "hubble_deep_field", "retina", "brick", "grass", "gravel",
              "moon", "coins", "page", "text")


def load_photo(name: str) -> np.ndarray:
    """uint8 ``(H, W, 3)`` photograph ``name`` of ``skimage.data`` (grey replicated to RGB)."""
    try:
        import skimage.data as sd
    except ImportError:
        raise DataError("the demo photographs come from scikit-image: pip install scikit-image "
                        "(or pass --data-root with a folder of images)") from None
    if name not in TINY_EVAL + TINY_TRAIN + ("stereo_motorcycle",):
        raise DataError(f"unknown photograph {name!r}")
    img = getattr(sd, name)()
    if isinstance(img, tuple):
        img = img[0]
    img = np.asarray(img)
    if img.dtype != np.uint8:
        img = np.clip(np.round(img.astype(np.float64) * (255.0 if img.max() <= 1 else 1.0)), 0, 255).astype(np.uint8)
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    return np.ascontiguousarray(img[..., :3])


def photo_pairs(names, scale: int) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """``[(name, hr_y, lr_y), ...]``: HR cropped to a multiple of ``s``, LR by (E10), Y by (E1)."""
    from pisr.data.pairs import make_pair

    return [(n, *make_pair(load_photo(n), scale)) for n in names]
