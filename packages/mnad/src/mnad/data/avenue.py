"""CUHK Avenue in the frame-folder layout of the official MNAD scripts."""

from __future__ import annotations

from mnad.data.layout import FrameFolderSplit

__all__ = ["Avenue"]


class Avenue(FrameFolderSplit):
    """CUHK Avenue: 16 training videos (15 328 frames), 21 test videos (15 324 frames), 360x640 colour JPEGs.

    Layout (``--data-root`` points at ``avenue/`` or its parent)::

        avenue/training/frames/<video>/<idx>.jpg
        avenue/testing/frames/<video>/<idx>.jpg
        labels: frame_labels_avenue.npy  (1, 15324) int8
    """

    name = "avenue"
    label_file = "frame_labels_avenue.npy"
    test_counts = (21, 15324)
