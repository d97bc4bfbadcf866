"""Data sets in their official layouts (VOC + SBD, PASCAL Context) and synthetic scenes."""

from gzs3.data.context import ContextZeroShot
from gzs3.data.context_convert import convert_context_mat
from gzs3.data.synthetic import (
    SYNTHETIC_CLASSES,
    SYNTHETIC_UNSEEN,
    SyntheticZeroShot,
    synthetic_class_table,
)
from gzs3.data.transforms import EvalTransform, TrainTransform, denormalize, normalize
from gzs3.data.voc import VOCZeroShot

__all__ = [
    "SYNTHETIC_CLASSES",
    "SYNTHETIC_UNSEEN",
    "ContextZeroShot",
    "EvalTransform",
    "SyntheticZeroShot",
    "TrainTransform",
    "VOCZeroShot",
    "convert_context_mat",
    "denormalize",
    "normalize",
    "synthetic_class_table",
]
