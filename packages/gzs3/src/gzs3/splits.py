"""Seen/unseen class splits of PASCAL VOC and PASCAL Context (spec §8, "Seen/unseen splits").

Splits are cumulative: the K-unseen set contains the (K-2)-unseen set. Background (id 0) is a
seen class in the ZS3 setting. Context-10 differs between protocols (spec §3.20): the official
JoEm code lists id 2 (bicycle, ``protocol="joem"``, default), ZS3Net's protocol says aeroplane
(id 1, ``protocol="zs3"``). The SPNet setting (VOC, 5 unseen, background ignored) is
``setting="spnet"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

__all__ = [
    "CONTEXT_CLASSES",
    "VOC_CLASSES",
    "class_names",
    "contains_unseen",
    "num_classes",
    "seen_classes",
    "unseen_classes",
]

#: VOC order of the official word-vector table (row 1 is "airplane", spec §3.7).
VOC_CLASSES: tuple[str, ...] = (
    "background", "airplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair",
    "cow", "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa",
    "train", "tvmonitor",
)

#: ZS3Net/JoEm 60-class Context order (spec §8).
CONTEXT_CLASSES: tuple[str, ...] = (
    "background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair",
    "cow", "table", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train",
    "tvmonitor", "bag", "bed", "bench", "book", "building", "cabinet", "ceiling", "cloth",
    "computer", "cup", "door", "fence", "floor", "flower", "food", "grass", "ground", "keyboard",
    "light", "mountain", "mouse", "curtain", "platform", "sign", "plate", "road", "rock", "shelves",
    "sidewalk", "sky", "snow", "bedclothes", "track", "tree", "truck", "wall", "water", "window",
    "wood",
)

# Pairs added at K = 2, 4, 6, 8, 10 (spec §8 table).
_VOC_STEPS: tuple[tuple[int, int], ...] = ((10, 14), (1, 18), (8, 20), (19, 5), (9, 16))
_CONTEXT_STEPS_JOEM: tuple[tuple[int, int], ...] = ((10, 14), (18, 8), (4, 32), (3, 20), (38, 2))
_CONTEXT_STEPS_ZS3: tuple[tuple[int, int], ...] = ((10, 14), (18, 8), (4, 32), (3, 20), (38, 1))
_SPNET_UNSEEN: tuple[int, ...] = (16, 17, 18, 19, 20)

Dataset = Literal["voc", "context"]
Protocol = Literal["joem", "zs3"]
Setting = Literal["zs3", "spnet"]


def num_classes(dataset: Dataset) -> int:
    """21 for VOC, 60 for Context (background included)."""
    if dataset == "voc":
        return 21
    if dataset == "context":
        return 60
    raise ValueError(f"unknown dataset {dataset!r}: use 'voc' or 'context'")


def class_names(dataset: Dataset) -> tuple[str, ...]:
    """Class names in label-id order."""
    num_classes(dataset)
    return VOC_CLASSES if dataset == "voc" else CONTEXT_CLASSES


def unseen_classes(
    dataset: Dataset = "voc", k: int = 2, protocol: Protocol = "joem", setting: Setting = "zs3"
) -> list[int]:
    """The K unseen class ids, in the order the spec's table adds them.

    Args:
        dataset: ``"voc"`` or ``"context"``.
        k: 2, 4, 6, 8 or 10 (ZS3 setting); 5 with ``setting="spnet"`` (VOC only).
        protocol: ``"joem"`` (official code) or ``"zs3"`` (ZS3Net); differs only for Context-10.
        setting: ``"zs3"`` or ``"spnet"``.
    """
    num_classes(dataset)
    if protocol not in ("joem", "zs3"):
        raise ValueError(f"unknown split protocol {protocol!r}: use 'joem' or 'zs3'")
    if setting == "spnet":
        if dataset != "voc" or k != 5:
            raise ValueError("the SPNet setting exists for VOC with k=5 only")
        return list(_SPNET_UNSEEN)
    if setting != "zs3":
        raise ValueError(f"unknown setting {setting!r}: use 'zs3' or 'spnet'")
    if k not in (2, 4, 6, 8, 10):
        raise ValueError(f"number of unseen classes must be 2, 4, 6, 8 or 10, got {k}")
    if dataset == "voc":
        steps = _VOC_STEPS
    else:
        steps = _CONTEXT_STEPS_JOEM if protocol == "joem" else _CONTEXT_STEPS_ZS3
    return [c for pair in steps[: k // 2] for c in pair]


def seen_classes(
    dataset: Dataset = "voc", k: int = 2, protocol: Protocol = "joem", setting: Setting = "zs3"
) -> list[int]:
    """Sorted seen ids: the complement of :func:`unseen_classes` (background included in the ZS3
    setting; excluded in the SPNet setting, where background is ignored)."""
    unseen = set(unseen_classes(dataset, k, protocol, setting))
    start = 1 if setting == "spnet" else 0
    return [c for c in range(start, num_classes(dataset)) if c not in unseen]


def contains_unseen(label: object, unseen: Sequence[int], ignore_index: int = 255) -> bool:
    """True when the label map has at least one pixel of an unseen class (spec §3.15).

    ``label`` is any integer array/tensor; ``ignore_index`` pixels never count.
    """
    arr = label.detach().cpu().numpy() if hasattr(label, "detach") else np.asarray(label)
    if arr.size == 0 or len(unseen) == 0:
        return False
    ids = np.asarray([u for u in unseen if u != ignore_index], dtype=np.int64)
    return bool(np.isin(arr, ids).any())
