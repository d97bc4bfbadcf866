"""HR/LR pairs on the Y channel: random training patches and whole images for evaluation.

An HR image is cropped to a multiple of ``s`` (top-left aligned, spec section 3 #15); its LR
partner is read from ``lr_dir`` (``<stem>x<s>.png`` as in DIV2K and the benchmark packages,
or ``<stem>.png``) or made with the MATLAB-compatible :func:`~pisr.data.imresize`.
Grey files are replicated to RGB before (E1) (documented choice; the official code uses the
raw intensity).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from cvcore.data import list_images, read_image
from cvcore.errors import DataError
from pisr.data.color import rgb_to_y
from pisr.data.imresize import imresize

__all__ = ["ImageFolderPairs", "PairedPatches", "PatchDataset", "find_lr", "make_pair"]


def make_pair(hr_rgb: np.ndarray, scale: int, lr_rgb: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """uint8 RGB HR (and optional LR) -> float32 Y ``(s*h, s*w)`` and ``(h, w)`` in [0, 1].

    Without ``lr_rgb`` the HR image is cropped to a multiple of ``s`` and downscaled with (E10).
    With it, HR is cropped to ``s*h x s*w`` of the given LR (it must be at least that large).
    """
    if hr_rgb.ndim == 2:
        hr_rgb = np.repeat(hr_rgb[..., None], 3, axis=2)
    if lr_rgb is None:
        h, w = hr_rgb.shape[0] // scale, hr_rgb.shape[1] // scale
        if h < 1 or w < 1:
            raise DataError(f"image of size {hr_rgb.shape[:2]} is smaller than the scale {scale}")
        hr_rgb = hr_rgb[: h * scale, : w * scale]
        lr_rgb = imresize(hr_rgb, 1.0 / scale)
    else:
        if lr_rgb.ndim == 2:
            lr_rgb = np.repeat(lr_rgb[..., None], 3, axis=2)
        h, w = lr_rgb.shape[:2]
        if hr_rgb.shape[0] < h * scale or hr_rgb.shape[1] < w * scale:
            raise DataError(f"HR image {hr_rgb.shape[:2]} is smaller than {scale} x its LR image {lr_rgb.shape[:2]}")
        hr_rgb = hr_rgb[: h * scale, : w * scale]
    return rgb_to_y(hr_rgb).astype(np.float32), rgb_to_y(lr_rgb).astype(np.float32)


def find_lr(hr_path: Path, lr_dir: Path, scale: int) -> Path:
    """The LR file of ``hr_path`` in ``lr_dir``: ``<stem>x<s><ext>`` (official) or ``<stem><ext>``."""
    for cand in (lr_dir / f"{hr_path.stem}x{scale}{hr_path.suffix}", lr_dir / hr_path.name):
        if cand.is_file():
            return cand
    raise DataError(f"no LR image for {hr_path.name} in {lr_dir} (expected {hr_path.stem}x{scale}{hr_path.suffix})")


def _pairs_from_dirs(hr_dir: str | os.PathLike[str], lr_dir: str | os.PathLike[str] | None, scale: int,
                     names: Sequence[str] | None = None) -> tuple[list[Path], list[Path | None]]:
    hr_dir = Path(hr_dir)
    if not hr_dir.is_dir():
        raise DataError(f"HR folder not found: {hr_dir} (expected a folder of HR images, e.g. DIV2K_train_HR/ or <set>/HR/)")
    files = list_images(hr_dir)
    if names is not None:
        wanted = set(names)
        files = [f for f in files if f.stem in wanted]
    if not files:
        raise DataError(f"no images found in {hr_dir}")
    if lr_dir is not None and not Path(lr_dir).is_dir():
        raise DataError(f"LR folder not found: {lr_dir} (expected LR_bicubic/X{scale}/<name>x{scale}.png)")
    lrs = [find_lr(f, Path(lr_dir), scale) if lr_dir is not None else None for f in files]
    return files, lrs


def _load(hr: Path, lr: Path | None, scale: int) -> tuple[np.ndarray, np.ndarray]:
    return make_pair(read_image(hr), scale, read_image(lr) if lr is not None else None)


class PatchDataset(Dataset):
    """Random aligned HR/LR Y patches from in-memory pairs (spec section 3 #9, #12, #13).

    Item: ``(lr (1, p/s, p/s), hr (1, p, p))`` float32 in [0, 1]. ``len = repeat * n_images``.
    Randomness comes from NumPy's global generator, so resuming from a checkpoint that saved the
    RNG state reproduces the same patches.

    Args:
        pairs: list of ``(hr_y (H, W), lr_y (H/s, W/s))`` float arrays.
        scale: ``s``. patch_size: HR patch side ``p`` (192 in the paper; a multiple of ``s``).
        repeat: how often each image appears per epoch. augment: h/v flip and transpose, p = 0.5 each.
    """

    def __init__(self, pairs: Sequence[tuple[np.ndarray, np.ndarray]], scale: int, patch_size: int,
                 repeat: int = 1, augment: bool = True) -> None:
        if not pairs:
            raise DataError("no training images")
        if patch_size % scale:
            raise ValueError(f"patch_size {patch_size} must be a multiple of the scale {scale}")
        self.pairs = [(np.ascontiguousarray(h, np.float32), np.ascontiguousarray(lo, np.float32)) for h, lo in pairs]
        self.scale, self.patch_size, self.repeat, self.augment = scale, patch_size, max(1, int(repeat)), augment
        lp = patch_size // scale
        for _hr, lr in self.pairs:
            if min(lr.shape) < lp:
                raise DataError(f"an image of LR size {lr.shape} is smaller than the LR patch {lp}")

    def __len__(self) -> int:
        return len(self.pairs) * self.repeat

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        hr, lr = self.pairs[i % len(self.pairs)]
        s, lp = self.scale, self.patch_size // self.scale
        h, w = lr.shape
        # upper bound exclusive, as the official get_patch (the last offset is never drawn)
        iy = int(np.random.randint(0, max(1, h - lp)))
        ix = int(np.random.randint(0, max(1, w - lp)))
        lr_p = lr[iy:iy + lp, ix:ix + lp]
        hr_p = hr[iy * s:(iy + lp) * s, ix * s:(ix + lp) * s]
        if self.augment:
            hflip, vflip, rot = np.random.rand(3) < 0.5
            if hflip:
                lr_p, hr_p = lr_p[:, ::-1], hr_p[:, ::-1]
            if vflip:
                lr_p, hr_p = lr_p[::-1], hr_p[::-1]
            if rot:
                lr_p, hr_p = lr_p.T, hr_p.T
        return (torch.from_numpy(np.ascontiguousarray(lr_p))[None],
                torch.from_numpy(np.ascontiguousarray(hr_p))[None])


class PairedPatches(PatchDataset):
    """:class:`PatchDataset` read from ``hr_dir`` (+ ``lr_dir``; None -> LR made with (E10)).

    All images are decoded once and held in memory as float32 Y (no disk cache, so a changed
    image is never silently replaced by a stale copy).
    """

    def __init__(self, hr_dir: str | os.PathLike[str], lr_dir: str | os.PathLike[str] | None = None, *,
                 scale: int, patch_size: int, repeat: int = 1, augment: bool = True,
                 names: Sequence[str] | None = None) -> None:
        hrs, lrs = _pairs_from_dirs(hr_dir, lr_dir, scale, names)
        super().__init__([_load(h, lo, scale) for h, lo in zip(hrs, lrs)], scale, patch_size, repeat, augment)
        self.files = hrs


class ImageFolderPairs(Dataset):
    """Whole images for evaluation: item ``(lr (1, h, w), hr (1, s*h, s*w), name)`` float32 Y.

    Args:
        hr_dir: folder of HR images. lr_dir: folder of LR images (``<stem>x<s>.png``) or None to
            make them with (E10). scale: ``s``. pairs: in-memory ``(name, hr_y, lr_y)`` instead of folders.
    """

    def __init__(self, hr_dir: str | os.PathLike[str] | None = None, lr_dir: str | os.PathLike[str] | None = None,
                 *, scale: int, names: Sequence[str] | None = None,
                 pairs: Sequence[tuple[str, np.ndarray, np.ndarray]] | None = None) -> None:
        self.scale = scale
        if pairs is not None:
            self.items = [(n, np.asarray(h, np.float32), np.asarray(lo, np.float32)) for n, h, lo in pairs]
        else:
            if hr_dir is None:
                raise ValueError("give hr_dir or pairs")
            hrs, lrs = _pairs_from_dirs(hr_dir, lr_dir, scale, names)
            self.items = [(h.stem, *_load(h, lo, scale)) for h, lo in zip(hrs, lrs)]

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor, str]:
        name, hr, lr = self.items[i]
        return torch.from_numpy(lr)[None], torch.from_numpy(hr)[None], name

    def pairs(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """``[(hr_y, lr_y), ...]`` to build a :class:`PatchDataset` from the same images."""
        return [(h, lo) for _, h, lo in self.items]
