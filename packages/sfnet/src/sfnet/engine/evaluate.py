"""Benchmark evaluation: keypoint PCK on PF-PASCAL / PF-WILLOW, dense flow PCK on TSS (spec section 7)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from cvcore.progress import progress
from sfnet.data.pf_pascal import VOC_CLASSES
from sfnet.flow import upsample_grid
from sfnet.keypoint_transfer import padding_scale, transfer_keypoints
from sfnet.metrics import ALPHA, flow_pck, pck

__all__ = ["dense_flow_px", "evaluate", "evaluate_keypoints", "evaluate_tss"]


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


def dense_flow_px(grid_t2s: torch.Tensor, src_size: tuple[int, int], tgt_size: tuple[int, int],
                  official_padding_correction: bool = True) -> torch.Tensor:
    """Pixel flow ``2 x H_t x W_t`` of the target image from a (padded-input) grid ``h x w x 2``."""
    g = grid_t2s[None]
    if official_padding_correction:
        h, w = g.shape[1:3]
        g = g[:, 1:-1, 1:-1] * torch.tensor([padding_scale(w), padding_scale(h)], dtype=g.dtype)
    up = upsample_grid(g, tgt_size)[0]
    ht, wt = tgt_size
    hs, ws = src_size
    xs = (up[..., 0] + 1) * (ws - 1) / 2
    ys = (up[..., 1] + 1) * (hs - 1) / 2
    gy, gx = torch.meshgrid(torch.arange(ht, dtype=up.dtype), torch.arange(wt, dtype=up.dtype), indexing="ij")
    return torch.stack([xs - gx, ys - gy])


@torch.no_grad()
def evaluate_tss(model: torch.nn.Module, dataset: Dataset, alpha: float = 0.05, device: torch.device | str = "cpu"
                 ) -> dict[str, Any]:
    """Dense PCK@0.05 on TSS foreground pixels, both directions (protocol reconstructed)."""
    device = torch.device(device)
    model.eval()
    by_subset: dict[str, list[float]] = defaultdict(list)
    for i in progress(range(len(dataset)), total=len(dataset), desc="eval"):
        item = dataset[i]
        grid = _grid_t2s(model, item, device)
        flow = dense_flow_px(grid[0], tuple(item["source_size"].tolist()), tuple(item["target_size"].tolist()))
        s = flow_pck(flow, item["gt_flow"], item["mask"], alpha=alpha)
        if not np.isnan(s):
            by_subset[item["subset"]].append(s)
    per = {k: float(np.mean(v)) for k, v in by_subset.items()}
    return {"pck": float(np.mean(list(per.values()))) if per else float("nan"), "per_subset": per,
            "n_pairs": sum(len(v) for v in by_subset.values()), "alpha": alpha}


def evaluate(model: torch.nn.Module, dataset: Dataset, alpha: float | None = None,
             device: torch.device | str = "cpu") -> dict[str, Any]:
    """Dispatch on the dataset: keypoint PCK (PF-PASCAL/PF-WILLOW, alpha 0.1) or TSS (alpha 0.05)."""
    if getattr(dataset, "benchmark", "") == "tss":
        return evaluate_tss(model, dataset, 0.05 if alpha is None else alpha, device)
    return evaluate_keypoints(model, dataset, ALPHA if alpha is None else alpha, device)
