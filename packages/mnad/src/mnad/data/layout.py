"""The frame-folder layout shared by UCSD Ped2, CUHK Avenue and ShanghaiTech (Liu et al. 2018
packaging, read by the official scripts) and by any user's own videos."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from cvcore.errors import DataError
from mnad.data.frames import VideoFramesDataset

__all__ = ["FrameFolderSplit", "resolve_split"]

LAYOUT = """<root>/
  training/frames/<video>/<frame>.jpg   (normal videos only)
  testing/frames/<video>/<frame>.jpg
frames are numbered images (0-based zero-padded in the official packaging; any integer works)"""


def resolve_split(root: str | os.PathLike[str], split: Literal["training", "testing"], name: str | None = None) -> Path:
    """``<root>/<split>/frames`` (or ``<root>/<name>/<split>/frames``), with a clear error."""
    r = Path(root)
    cands = [r / split / "frames"]
    if name:
        cands.append(r / name / split / "frames")
    for c in cands:
        if c.is_dir():
            return c
    raise DataError(f"{split} frames not found: expected {cands[0]} (layout:\n{LAYOUT})".replace("\n", " "))


class FrameFolderSplit(VideoFramesDataset):
    """A split (``training`` or ``testing``) of a frame-folder data set.

    Args:
        root: the data-set folder (``.../ped2``) or its parent (``.../dataset``).
        split: ``"training"`` or ``"testing"``.
        **kwargs: passed to :class:`~mnad.data.VideoFramesDataset` (t_length, size, color, exts).
    """

    name = "folder"
    label_file: str | None = None
    #: (videos, frames) of the official test split, checked by ``check_counts``.
    test_counts: tuple[int, int] | None = None

    def __init__(self, root: str | os.PathLike[str], split: Literal["training", "testing"] = "training",
                 **kwargs: Any) -> None:
        self.split = split
        super().__init__(resolve_split(root, split, self.name), **kwargs)

    @classmethod
    def describe_layout(cls) -> str:
        """The expected on-disk layout: the ``Layout ...::`` block of a subclass's docstring, else
        the generic frame-folder layout."""
        doc = cls.__doc__ or ""  # empty under python -OO
        if "Layout" in doc and "::" in doc.split("Layout", 1)[1]:
            return doc.split("Layout", 1)[1].split("::", 1)[1]
        return LAYOUT
