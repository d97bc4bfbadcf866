"""Evaluation of a model on a KITTI-layout split: detections → KITTI result dicts → KITTI AP (spec §7).

Test-time point sampling is seeded per frame (§3.2 step 6), so an evaluation is reproducible. The memory
diagnostic of §12 (``ablate_memory="random"|"zero"``) temporarily replaces the memory items.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

import torch

from cvcore.errors import ConfigError
from cvcore.progress import progress
from hvpr.engine.batching import model_batch, step_seed

ABLATIONS = ("none", "random", "zero")


@contextlib.contextmanager
def ablated_memory(model: Any, mode: str = "none", seed: int = 0) -> Iterator[None]:
    """Temporarily replace the memory items by U(−1/√C, 1/√C) values (``random``) or zeros (``zero``)."""
    if mode not in ABLATIONS:
        raise ConfigError(f"ablate_memory must be one of {', '.join(ABLATIONS)}, got {mode!r}")
    if mode == "none":
        yield
        return
    w = model.memory.weight
    saved = w.detach().clone()
    with torch.no_grad():
        if mode == "zero":
            w.zero_()
        else:
            bound = 1.0 / w.shape[1] ** 0.5
            g = torch.Generator().manual_seed(seed)
            w.copy_((torch.rand(w.shape, generator=g) * 2 - 1) * bound)
    try:
        yield
    finally:
        with torch.no_grad():
            w.copy_(saved)


@torch.no_grad()
def predict_dataset(model: Any, dataset: Any, *, seed: int = 0, quiet: bool | None = None,
                    desc: str = "eval") -> tuple[list[Any], list[dict[str, Any]]]:
    """Detections (one :class:`hvpr.model.Detections` per item, in item order) of ``model`` in eval mode, and
    each item's ``frame_id``/``calib``/``image_shape``."""
    was = model.training
    model.eval()
    dets, meta = [], []
    try:
        for i in progress(range(len(dataset)), total=len(dataset), desc=desc, quiet=quiet):
            item = dataset[i]
            dets.append(model(model_batch(model, [item], training=False, seed=step_seed(seed, i)))["detections"][0])
            meta.append({k: item.get(k) for k in ("frame_id", "calib", "image_shape")})
    finally:
        model.train(was)
    return dets, meta


def detections_to_annos(detections: Sequence[Any], meta: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """KITTI result dicts (camera frame, official field names) of the detections of each frame."""
    from hvpr.eval import predictions_to_kitti_annos

    return [predictions_to_kitti_annos(d, m["calib"], m["frame_id"], m["image_shape"])
            for d, m in zip(detections, meta, strict=True)]


def evaluate(model: Any, dataset: Any, *, seed: int = 0, metrics: Sequence[str] = ("bev", "3d"),
             recall_points: Sequence[int] = (11, 40), overlaps: str = "both", ablate_memory: str = "none",
             quiet: bool | None = None, return_annos: bool = False) -> dict[str, Any]:
    """KITTI AP (×100) of ``model`` on ``dataset`` (a ``KittiDataset`` in eval mode), keyed like
    ``"Car/bev/moderate/R40@0.50"``; with ``return_annos`` also ``{"annos": [...]}`` of the detections."""
    from hvpr.eval import kitti_ap

    with ablated_memory(model, ablate_memory, seed):
        dets, meta = predict_dataset(model, dataset, seed=seed, quiet=quiet)
    dt_annos = detections_to_annos(dets, meta)
    gt_annos = dataset.kitti_annos()
    result: dict[str, Any] = dict(kitti_ap(gt_annos, dt_annos, classes=tuple(model.class_names), metrics=metrics,
                                           recall_points=recall_points, overlaps=overlaps))
    if return_annos:
        result["annos"] = dt_annos
    return result
