"""Videos stored as folders of frames, and the clip samples MNAD trains and tests on.

A sample is the channel concatenation of ``t_length`` consecutive frames (official
``DataLoader.__getitem__``): ``(t_length*3, H, W)`` in [-1, 1]; for prediction the first
``3*(t_length-1)`` channels are the input and the last 3 the target.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.data import Dataset

from cvcore.data import read_image
from cvcore.errors import DataError

__all__ = [
    "ClipDataset",
    "TensorVideos",
    "VideoFramesDataset",
    "VideoInfo",
    "list_videos",
    "preprocess",
    "read_frame",
    "resize_bilinear",
]

FRAME_EXTS = (".jpg", ".png")


@dataclass(frozen=True)
class VideoInfo:
    """One video: its folder name and its frame files in temporal order."""

    name: str
    frames: tuple[Path, ...]

    @property
    def length(self) -> int:
        return len(self.frames)


def _frame_key(p: Path) -> tuple[int, int | str]:
    stem = p.stem
    m = re.fullmatch(r"\D*?(\d+)", stem)
    return (0, int(m.group(1))) if m else (1, stem)


def _sorted_frames(folder: Path, exts: Sequence[str]) -> list[Path]:
    files = [p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in exts]
    # Sort by the integer in the name (1.jpg, 2.jpg, ..., 10.jpg) and index by position, so that
    # 1-based and unpadded names work (official loader: int(stem) as 0-based index, issue #31).
    return sorted(files, key=_frame_key)


def list_videos(root: str | os.PathLike[str], *, exts: Sequence[str] = FRAME_EXTS) -> list[VideoInfo]:
    """Videos under ``root`` in sorted folder order.

    ``root`` is either a tree ``root/<video>/<frame>.jpg`` or a single video folder
    ``root/<frame>.jpg`` (then the video is named after the folder).

    Raises:
        DataError: missing folder or no frames.
    """
    r = Path(root)
    if not r.is_dir():
        raise DataError(f"frame folder not found: {r} (expected <root>/<video>/<frame>.jpg|.png)")
    exts = tuple(e.lower() for e in exts)
    subdirs = sorted((p for p in r.iterdir() if p.is_dir() and not p.name.startswith(".")), key=lambda p: p.name)
    videos = [VideoInfo(d.name, tuple(_sorted_frames(d, exts))) for d in subdirs]
    videos = [v for v in videos if v.length]
    if not videos:
        own = _sorted_frames(r, exts)
        if own:
            return [VideoInfo(r.name, tuple(own))]
        raise DataError(f"no video frames under {r}: expected <root>/<video>/<frame>{'|'.join(exts)}")
    return videos


def resize_bilinear(img: Tensor, size: tuple[int, int]) -> Tensor:
    """OpenCV ``INTER_LINEAR`` resize: half-pixel centres, no antialiasing when shrinking.

    Args:
        img: ``(C, H, W)`` or ``(B, C, H, W)`` float.
        size: ``(height, width)``.
    """
    if tuple(img.shape[-2:]) == tuple(size):
        return img
    x = img if img.ndim == 4 else img.unsqueeze(0)
    out = F.interpolate(x, size=tuple(size), mode="bilinear", align_corners=False, antialias=False)
    return out if img.ndim == 4 else out[0]


def preprocess(frame: np.ndarray, size: tuple[int, int] | None, color: Literal["bgr", "rgb", "gray"] = "bgr") -> Tensor:
    """``uint8`` ``(H, W, 3)`` RGB or ``(H, W)`` grey -> float ``(3, h, w)`` in [-1, 1].

    Official order: channel order (BGR, as ``cv2.imread``), resize of the ``uint8`` image
    (rounded back to integers as OpenCV does), then ``x/127.5 - 1``.
    """
    a = np.asarray(frame)
    if a.ndim == 2:
        a = np.repeat(a[..., None], 3, axis=2)
    if a.ndim != 3 or a.shape[2] != 3:
        raise DataError(f"expected an (H, W) or (H, W, 3) frame, got shape {a.shape}")
    if color == "bgr":
        a = a[..., ::-1]
    elif color == "gray":
        g = a.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
        a = np.repeat(np.round(g)[..., None], 3, axis=2)
    elif color != "rgb":
        raise ValueError(f"color must be 'bgr', 'rgb' or 'gray', got {color!r}")
    t = torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32)).permute(2, 0, 1)
    if size is not None and tuple(t.shape[-2:]) != tuple(size):
        t = resize_bilinear(t, size).round_().clamp_(0, 255)
    return t / 127.5 - 1.0


def read_frame(path: str | os.PathLike[str], size: tuple[int, int] | None = (256, 256),
               color: Literal["bgr", "rgb", "gray"] = "bgr") -> Tensor:
    """Decode one frame with Pillow and :func:`preprocess` it: ``(3, h, w)`` in [-1, 1]."""
    return preprocess(read_image(path, "RGB"), size, color)


class ClipDataset(Dataset):
    """Clip samples over a list of videos (subclasses provide :meth:`frame`).

    Samples per video: ``length - (t_length - 1)`` (every start frame whose clip fits); a video
    shorter than ``t_length`` contributes none (official ``get_all_samples``).
    """

    names: list[str]
    lengths: list[int]

    def __init__(self, names: Sequence[str], lengths: Sequence[int], t_length: int) -> None:
        if t_length < 1:
            raise ValueError(f"t_length must be >= 1, got {t_length}")
        self.names, self.lengths, self.t_length = list(names), [int(n) for n in lengths], t_length
        starts = [(v, s) for v, n in enumerate(self.lengths) for s in range(max(n - t_length + 1, 0))]
        self.index = np.asarray(starts, dtype=np.int64).reshape(-1, 2)
        self.short_videos = [nm for nm, n in zip(self.names, self.lengths) if n < t_length]

    def frame(self, video: int, index: int) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, i: int) -> Tensor:
        v, s = (int(x) for x in self.index[i])
        return torch.cat([self.frame(v, s + k) for k in range(self.t_length)], dim=0)

    @property
    def sample_videos(self) -> np.ndarray:
        """``(len,)`` video index of each sample."""
        return self.index[:, 0].copy()

    @property
    def target_frames(self) -> np.ndarray:
        """``(len,)`` index (within its video) of each sample's last (target) frame."""
        return self.index[:, 1] + self.t_length - 1


class VideoFramesDataset(ClipDataset):
    """Frame folders on disk, e.g. ``ped2/training/frames`` (``<root>/<video>/<idx>.jpg``).

    Args:
        root: a tree of video folders or one video folder.
        t_length: frames per sample (5 for prediction, 1 for reconstruction).
        size: ``(height, width)`` after the OpenCV-style bilinear resize (None keeps the size).
        color: ``"bgr"`` (official), ``"rgb"`` or ``"gray"`` (replicated to 3 channels).
        exts: accepted frame extensions.
    """

    def __init__(self, root: str | os.PathLike[str], *, t_length: int = 5, size: tuple[int, int] | int | None = (256, 256),
                 color: Literal["bgr", "rgb", "gray"] = "bgr", exts: Sequence[str] = FRAME_EXTS) -> None:
        self.root = Path(root)
        self.videos = list_videos(self.root, exts=exts)
        self.size = (size, size) if isinstance(size, int) else (tuple(size) if size is not None else None)
        self.color = color
        super().__init__([v.name for v in self.videos], [v.length for v in self.videos], t_length)

    def frame(self, video: int, index: int) -> Tensor:
        return read_frame(self.videos[video].frames[index], self.size, self.color)


class TensorVideos(ClipDataset):
    """Videos held in memory as ``uint8`` arrays ``(T, H, W)`` (grey) or ``(T, H, W, 3)`` (RGB)
    or as float tensors ``(T, 3, H, W)`` already in [-1, 1]."""

    def __init__(self, videos: Sequence[np.ndarray | Tensor], names: Sequence[str] | None = None, *,
                 t_length: int = 5, color: Literal["bgr", "rgb", "gray"] = "bgr") -> None:
        self.frames: list[Tensor] = []
        for v in videos:
            if isinstance(v, Tensor) and v.is_floating_point():
                t = v.float()
            else:
                a = np.asarray(v)
                t = torch.stack([preprocess(f, None, color) for f in a]) if len(a) else torch.empty(0, 3, 1, 1)
            if t.ndim != 4 or t.shape[1] != 3:
                raise DataError(f"expected a video (T, 3, H, W), got shape {tuple(t.shape)}")
            self.frames.append(t)
        names = list(names) if names is not None else [f"{i:02d}" for i in range(len(videos))]
        super().__init__(names, [len(t) for t in self.frames], t_length)

    def frame(self, video: int, index: int) -> Tensor:
        return self.frames[video][index]
