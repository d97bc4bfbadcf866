"""Benchmark evaluation (spec section 7): keypoint PCK on PF-PASCAL / PF-WILLOW, dense flow PCK on TSS,
mask transfer (LT-ACC, IoU, LOC-ERR) on Caltech-101."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from cvcore.progress import progress
from sfnet.data.caltech import CALTECH_CATEGORIES
from sfnet.data.pf_pascal import VOC_CLASSES
from sfnet.flow import upsample_grid, warp
from sfnet.keypoint_transfer import padding_scale, transfer_keypoints
from sfnet.metrics import ALPHA, flow_pck, label_transfer_accuracy, localization_error, mask_iou, pck

__all__ = ["dense_flow_px", "dense_grid_t2s", "evaluate", "evaluate_caltech", "evaluate_keypoints", "evaluate_tss",
           "transfer_mask"]


def _grid_t2s(model: torch.nn.Module, item: dict[str, Any], device: torch.device) -> torch.Tensor:
    src = item["source_image"][None].to(device)
    tgt = item["target_image"][None].to(device)
    if not (torch.isfinite(src).all() and torch.isfinite(tgt).all()):
        raise ValueError("input images contain NaN or infinite values")
    return model(src, tgt).grid_t2s.float().cpu()


@torch.no_grad()
def evaluate_keypoints(model: torch.nn.Module, dataset: Dataset, alpha: float = ALPHA,
                       device: torch.device | str = "cpu", official_padding_correction: bool = True) -> dict[str, Any]:
    """PCK@alpha over pairs (E12) with the official transfer path (``transfer_keypoints``).

    Returns:
        ``{"pck": mean over pairs, "per_class": {name: pck} (PF-PASCAL), "n_pairs": int,
        "per_pair": [...], "alpha": alpha, "eval_type": ...}``.
    """
    device = torch.device(device)
    model.eval()
    scores: list[float] = []
    by_class: dict[int, list[float]] = defaultdict(list)
    for i in progress(range(len(dataset)), total=len(dataset), desc="eval"):
        item = dataset[i]
        grid = _grid_t2s(model, item, device)
        est = transfer_keypoints(grid[0], item["target_points"], tuple(item["source_size"].tolist()),
                                 tuple(item["target_size"].tolist()), feature_size=tuple(grid.shape[1:3]),
                                 official_padding_correction=official_padding_correction)
        s = pck(item["source_points"], est, item["L"], alpha)
        if np.isnan(s):
            continue
        scores.append(s)
        by_class[int(item.get("category", 0))].append(s)
    result: dict[str, Any] = {"pck": float(np.mean(scores)) if scores else float("nan"), "n_pairs": len(scores),
                              "alpha": alpha, "eval_type": getattr(dataset, "eval_type", None),
                              "per_pair": scores}
    if getattr(dataset, "benchmark", "") == "pf-pascal":
        result["per_class"] = {VOC_CLASSES[c]: float(np.mean(v)) for c, v in sorted(by_class.items())}
    return result


def dense_grid_t2s(grid_t2s: torch.Tensor, tgt_size: tuple[int, int], official_padding_correction: bool = True
                   ) -> torch.Tensor:
    """Normalised target->source grid at every target pixel, ``H_t x W_t x 2``, from the model's
    (padded-input) grid ``h x w x 2``: border crop and ``(w/2)/(w/2-1)`` rescale (official
    correction), then corner-aligned bilinear upsampling (spec section 3, "Evaluation")."""
    g = grid_t2s[None]
    if official_padding_correction:
        h, w = g.shape[1:3]
        g = g[:, 1:-1, 1:-1] * torch.tensor([padding_scale(w), padding_scale(h)], dtype=g.dtype)
    return upsample_grid(g, tuple(int(v) for v in tgt_size))[0]


def dense_flow_px(grid_t2s: torch.Tensor, src_size: tuple[int, int], tgt_size: tuple[int, int],
                  official_padding_correction: bool = True) -> torch.Tensor:
    """Pixel flow ``2 x H_t x W_t`` of the target image from a (padded-input) grid ``h x w x 2``."""
    up = dense_grid_t2s(grid_t2s, tgt_size, official_padding_correction)
    ht, wt = tgt_size
    hs, ws = src_size
    xs = (up[..., 0] + 1) * (ws - 1) / 2
    ys = (up[..., 1] + 1) * (hs - 1) / 2
    gy, gx = torch.meshgrid(torch.arange(ht, dtype=up.dtype), torch.arange(wt, dtype=up.dtype), indexing="ij")
    return torch.stack([xs - gx, ys - gy])


@torch.no_grad()
def evaluate_tss(model: torch.nn.Module, dataset: Dataset, alpha: float = 0.05, device: torch.device | str = "cpu",
                 foreground_only: bool = False) -> dict[str, Any]:
    """Dense PCK@alpha on TSS, both directions of every pair (protocol reconstructed, as the TSS toolkit).

    Per item: the pixels of the target with a valid ground-truth flow (and, with ``foreground_only``,
    inside its mask) whose end-point error is ``<= alpha * L``, ``L = max(H, W)`` of the source (the
    image the flow points into; the source is flipped beforehand when the pair's flag says so).

    Returns:
        ``{"pck": mean of the per-subset means (the papers' "avg."), "per_subset": {...},
        "pck_all_pairs": mean over all items (the toolkit's "Average"), "pck_without_flip": mean over
        unflipped items (the toolkit's "w/o flip"), "n_pairs", "n_flipped", "alpha"}``.
    """
    device = torch.device(device)
    model.eval()
    by_subset: dict[str, list[float]] = defaultdict(list)
    unflipped: list[float] = []
    n_flipped = 0
    for i in progress(range(len(dataset)), total=len(dataset), desc="eval"):
        item = dataset[i]
        grid = _grid_t2s(model, item, device)
        flow = dense_flow_px(grid[0], tuple(item["source_size"].tolist()), tuple(item["target_size"].tolist()))
        region = item["mask"] if foreground_only else torch.ones_like(item["mask"], dtype=torch.bool)
        s = flow_pck(flow, item["gt_flow"], region, alpha=alpha, L=item.get("L"))
        if np.isnan(s):
            continue
        by_subset[item["subset"]].append(s)
        if item.get("flip", False):
            n_flipped += 1
        else:
            unflipped.append(s)
    per = {k: float(np.mean(v)) for k, v in by_subset.items()}
    every = [v for vs in by_subset.values() for v in vs]
    return {"pck": float(np.mean(list(per.values()))) if per else float("nan"), "per_subset": per,
            "pck_all_pairs": float(np.mean(every)) if every else float("nan"),
            "pck_without_flip": float(np.mean(unflipped)) if unflipped else float("nan"),
            "n_pairs": len(every), "n_flipped": n_flipped, "alpha": alpha}


def transfer_mask(source_mask: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
    """Warp a source mask ``H_s x W_s`` into the target frame with a dense grid ``H_t x W_t x 2``
    (bilinear, zero outside, corner-aligned) -> float ``H_t x W_t`` in [0, 1]."""
    return warp(source_mask.float()[None, None], grid[None].float())[0, 0]


@torch.no_grad()
def evaluate_caltech(model: torch.nn.Module, dataset: Dataset, device: torch.device | str = "cpu",
                     official_padding_correction: bool = True) -> dict[str, Any]:
    """Caltech-101 mask transfer (protocol of CNNGeo / weakalign, reconstructed): the source mask is
    warped into the target with the dense target->source grid and scored with LT-ACC, IoU (both on
    ``> 0.5`` masks) and LOC-ERR; means over the pairs whose score is defined.

    Returns:
        ``{"lt_acc", "iou", "loc_err", "n_pairs", "per_category": {name: {"lt_acc", "iou", "loc_err"}}}``.
    """
    device = torch.device(device)
    model.eval()
    scores: dict[str, list[float]] = {"lt_acc": [], "iou": [], "loc_err": []}
    by_cat: dict[int, dict[str, list[float]]] = defaultdict(lambda: {k: [] for k in scores})
    for i in progress(range(len(dataset)), total=len(dataset), desc="eval"):
        item = dataset[i]
        grid = dense_grid_t2s(_grid_t2s(model, item, device)[0], tuple(item["target_size"].tolist()),
                              official_padding_correction)
        warped = transfer_mask(item["source_mask"], grid)
        pair = {"lt_acc": label_transfer_accuracy(warped, item["target_mask"]),
                "iou": mask_iou(warped, item["target_mask"]),
                "loc_err": localization_error(item["source_mask"], item["target_mask"], grid)}
        for k, v in pair.items():
            if not np.isnan(v):
                scores[k].append(v)
                by_cat[int(item.get("category", 0))][k].append(v)

    def _mean(v: list[float]) -> float:
        return float(np.mean(v)) if v else float("nan")

    return {**{k: _mean(v) for k, v in scores.items()}, "n_pairs": len(dataset),
            "per_category": {CALTECH_CATEGORIES[c]: {k: _mean(v) for k, v in d.items()}
                             for c, d in sorted(by_cat.items())}}


def evaluate(model: torch.nn.Module, dataset: Dataset, alpha: float | None = None,
             device: torch.device | str = "cpu") -> dict[str, Any]:
    """Dispatch on the dataset: keypoint PCK (PF-PASCAL/PF-WILLOW, alpha 0.1), TSS (alpha 0.05) or
    Caltech-101 (LT-ACC / IoU / LOC-ERR; ``alpha`` unused)."""
    if getattr(dataset, "benchmark", "") == "caltech":
        return evaluate_caltech(model, dataset, device)
    if getattr(dataset, "benchmark", "") == "tss":
        return evaluate_tss(model, dataset, 0.05 if alpha is None else alpha, device)
    return evaluate_keypoints(model, dataset, ALPHA if alpha is None else alpha, device)
