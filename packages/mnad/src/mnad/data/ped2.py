"""UCSD Ped2 in the frame-folder layout of the official MNAD scripts."""

from __future__ import annotations

from mnad.data.layout import FrameFolderSplit

__all__ = ["Ped2"]


class Ped2(FrameFolderSplit):
    """UCSD Ped2: 16 training videos (2 550 frames), 12 test videos (2 010 frames), 240x360 greyscale JPEGs.

    Layout (``--data-root`` points at ``ped2/`` or its parent)::

        ped2/training/frames/<video>/<idx>.jpg
        ped2/testing/frames/<video>/<idx>.jpg
        labels: frame_labels_ped2.npy  (1, 2010) int64
    """

    name = "ped2"
    label_file = "frame_labels_ped2.npy"
    test_counts = (12, 2010)
