"""Feature extraction with horizontal-flip test-time augmentation (reid_common spec §2.8)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import torch

__all__ = ["extract_features", "flip_augmented"]


def _as_parts(out: Any) -> list[torch.Tensor]:
    if isinstance(out, torch.Tensor):
        return [out.flatten(1)]
    if isinstance(out, (list, tuple)) and out and all(isinstance(t, torch.Tensor) for t in out):
        return [t.flatten(1) for t in out]
    raise TypeError("the model must return a (B, D) tensor or a list of (B, D_k) part tensors")


@torch.no_grad()
def flip_augmented(model: torch.nn.Module, x: torch.Tensor, flip: bool = True, flip_reduce: str = "mean",
                   l2_normalize: bool = True) -> torch.Tensor:
    """Descriptor of a batch ``(B, 3, H, W) -> (B, D)``.

    Each output part (a model may return a list of part features, as RRID does) is averaged
    (``"mean"``) or summed (``"sum"``) over the image and its width-reversed copy, the parts are
    concatenated, and the whole vector is L2-normalised (spec R10 of reid_relation).
    """
    if flip_reduce not in ("mean", "sum"):
        raise ValueError(f"flip_reduce must be 'mean' or 'sum', got {flip_reduce!r}")
    parts = _as_parts(model(x))
    if flip:
        parts_f = _as_parts(model(torch.flip(x, dims=[3])))
        parts = [a + b for a, b in zip(parts, parts_f)]
        if flip_reduce == "mean":
            parts = [p / 2.0 for p in parts]
    f = torch.cat(parts, dim=1)
    if l2_normalize:
        f = torch.nn.functional.normalize(f, dim=1)
    return f


@torch.no_grad()
def extract_features(model: torch.nn.Module, loader: Iterable[Any], flip: bool = True, flip_reduce: str = "mean",
                     l2_normalize: bool = True, device: str | torch.device = "cpu"
                     ) -> tuple[torch.Tensor, np.ndarray, np.ndarray, list[str]]:
    """Run ``model`` (in eval mode) over ``loader`` batches ``(images, pids, camids, paths)``.

    Returns:
        ``features (N, D)`` float32 on CPU, ``pids (N,)``, ``camids (N,)`` int64 arrays, ``paths``.
    """
    was_training = model.training
    model.eval()
    feats, pids, cams, paths = [], [], [], []
    try:
        for batch in loader:
            if isinstance(batch, dict):
                x, p, c, pa = batch["img"], batch["pid"], batch["camid"], batch.get("path", [])
            else:
                x, p, c, pa = batch[0], batch[1], batch[2], (batch[3] if len(batch) > 3 else [])
            f = flip_augmented(model, x.to(device), flip, flip_reduce, l2_normalize)
            feats.append(f.float().cpu())
            pids.append(torch.as_tensor(p).view(-1).cpu())
            cams.append(torch.as_tensor(c).view(-1).cpu())
            paths.extend(list(pa))
    finally:
        model.train(was_training)
    if not feats:
        raise ValueError("extract_features: the loader yielded no batch")
    return (torch.cat(feats), torch.cat(pids).numpy().astype(np.int64), torch.cat(cams).numpy().astype(np.int64),
            paths)
