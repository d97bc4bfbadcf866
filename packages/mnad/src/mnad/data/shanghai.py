"""ShanghaiTech Campus in the frame-folder layout of the official MNAD scripts."""

from __future__ import annotations

from mnad.data.layout import FrameFolderSplit

__all__ = ["ShanghaiTech"]


class ShanghaiTech(FrameFolderSplit):
    """ShanghaiTech Campus: 330 training videos (274 515 frames, extracted by the user), 107 test videos (40 791 frames) named <scene>_<clip>, 480x856 JPEGs.

    Layout (``--data-root`` points at ``shanghai/`` or its parent)::

        shanghai/training/frames/<video>/<idx>.jpg
        shanghai/testing/frames/<video>/<idx>.jpg
        labels: frame_labels_shanghai.npy  (40791,) uint8 (1-D), or testing/test_frame_mask/<video>.npy
    """

    name = "shanghai"
    label_file = "frame_labels_shanghai.npy"
    test_counts = (107, 40791)
