"""Data: frame folders (official Ped2 / Avenue / ShanghaiTech layout, or any folder of videos),
frame labels, and clip samples."""

from mnad.data.avenue import Avenue
from mnad.data.frames import (
    ClipDataset,
    TensorVideos,
    VideoFramesDataset,
    VideoInfo,
    list_videos,
    preprocess,
    read_frame,
    resize_bilinear,
)
from mnad.data.labels import OFFICIAL_LABEL_FILES, concat_labels, load_labels
from mnad.data.layout import FrameFolderSplit, resolve_split
from mnad.data.ped2 import Ped2
from mnad.data.shanghai import ShanghaiTech

DATASETS = {"ped2": Ped2, "avenue": Avenue, "shanghai": ShanghaiTech, "folder": FrameFolderSplit}

__all__ = [
    "DATASETS",
    "OFFICIAL_LABEL_FILES",
    "Avenue",
    "ClipDataset",
    "FrameFolderSplit",
    "Ped2",
    "ShanghaiTech",
    "TensorVideos",
    "VideoFramesDataset",
    "VideoInfo",
    "concat_labels",
    "list_videos",
    "load_labels",
    "preprocess",
    "read_frame",
    "resize_bilinear",
    "resolve_split",
]
