"""Data: MATLAB-compatible resize (E10), luma (E1), DIV2K / benchmark / image-folder pairs."""

from pisr.data.benchmark import BENCHMARK_SETS, benchmark_folder
from pisr.data.color import rgb_to_y
from pisr.data.div2k import div2k_train, div2k_val
from pisr.data.imresize import imresize
from pisr.data.pairs import ImageFolderPairs, PairedPatches, PatchDataset, make_pair
from pisr.data.photos import TINY_EVAL, TINY_TRAIN, load_photo, photo_pairs

__all__ = [
    "BENCHMARK_SETS",
    "ImageFolderPairs",
    "PairedPatches",
    "PatchDataset",
    "TINY_EVAL",
    "TINY_TRAIN",
    "benchmark_folder",
    "div2k_train",
    "div2k_val",
    "imresize",
    "load_photo",
    "make_pair",
    "photo_pairs",
    "rgb_to_y",
]
