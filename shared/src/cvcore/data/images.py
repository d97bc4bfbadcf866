"""Reading and writing images with Pillow, with errors that name the file."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from cvcore.errors import DataError

__all__ = ["IMAGE_EXTENSIONS", "list_images", "read_image", "read_image_tensor", "write_image"]

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm")


def read_image(path: str | os.PathLike[str], mode: Literal["RGB", "L"] = "RGB") -> np.ndarray:
    """Read an image as ``uint8`` ``(H, W, 3)`` (RGB) or ``(H, W)`` (``mode="L"``).

    EXIF orientation is applied, so photos come out the way viewers show them.

    Raises:
        DataError: the file is missing, is not an image, or is truncated/corrupt.
    """
    p = Path(path)
    if not p.is_file():
        raise DataError(f"image not found: {p}")
    if mode not in ("RGB", "L"):
        raise ValueError(f"mode must be 'RGB' or 'L', got {mode!r}")
    try:
        with Image.open(p) as im:
            im.load()
            im = ImageOps.exif_transpose(im)
            if im.mode in ("I;16", "I;16B", "I", "F") and mode == "L":
                arr = np.asarray(im, dtype=np.float64)
                arr = np.clip(arr / max(arr.max(), 1.0) * 255.0, 0, 255).astype(np.uint8)
                return arr
            if im.mode in ("RGBA", "LA", "P") and mode == "RGB":
                im = im.convert("RGBA")
                background = Image.new("RGBA", im.size, (255, 255, 255, 255))
                im = Image.alpha_composite(background, im)
            return np.array(im.convert(mode), dtype=np.uint8)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise DataError(f"cannot read image {p}: not an image or the file is corrupt ({exc})") from exc


def read_image_tensor(path: str | os.PathLike[str], mode: Literal["RGB", "L"] = "RGB") -> torch.Tensor:
    """Read an image as float32 ``(C, H, W)`` in ``[0, 1]`` (C = 3 for RGB, 1 for L)."""
    arr = read_image(path, mode)
    t = torch.from_numpy(arr).float().div_(255.0)
    return t.unsqueeze(0) if t.ndim == 2 else t.permute(2, 0, 1).contiguous()


def write_image(path: str | os.PathLike[str], image: np.ndarray | torch.Tensor) -> Path:
    """Write ``uint8`` ``(H, W)``/``(H, W, 3)`` (or a float ``(C, H, W)`` tensor in [0, 1]) atomically.

    The format follows the suffix (PNG, JPEG, ...).
    """
    from cvcore.io import atomic_write_bytes

    if isinstance(image, torch.Tensor):
        t = image.detach().cpu()
        if t.ndim == 3:
            t = t.permute(1, 2, 0)
            if t.shape[2] == 1:
                t = t[..., 0]
        image = (t.clamp(0, 1) * 255.0).round().to(torch.uint8).numpy()
    arr = np.asarray(image)
    if arr.dtype != np.uint8:
        raise ValueError(f"write_image expects uint8 arrays, got {arr.dtype}")
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (3, 4)):
        raise ValueError(f"write_image expects (H, W), (H, W, 3) or (H, W, 4), got {arr.shape}")
    p = Path(path)
    fmt = {".jpg": "JPEG", ".jpeg": "JPEG"}.get(p.suffix.lower(), None)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format=fmt or Image.registered_extensions().get(p.suffix.lower(), "PNG"))
    return atomic_write_bytes(p, buf.getvalue())


def list_images(folder: str | os.PathLike[str], *, recursive: bool = False) -> list[Path]:
    """Sorted image files in ``folder`` (by extension); a clear error if the folder is missing."""
    root = Path(folder)
    if not root.is_dir():
        raise DataError(f"image folder not found: {root}")
    it = root.rglob("*") if recursive else root.iterdir()
    return sorted(p for p in it if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
