"""Multi-scale + flip inference of the stage-3 network, optionally followed by the DenseCRF (spec §3.30-3.31)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F

from bap.crf import VGG_EVAL_CRF, CRFParams, dense_crf
from bap.models.classifier import caffe_normalize

__all__ = ["EVAL_SCALES", "multiscale_cosine_logits", "predict"]

EVAL_SCALES = (1.0, 0.5, 0.75, 1.5)  # test.py / stage3_vgg.py validation


@torch.no_grad()
def multiscale_cosine_logits(model: torch.nn.Module, x: torch.Tensor, scales: Sequence[float] = EVAL_SCALES,
                             flip: bool = True) -> torch.Tensor:
    """Mean cosine logits over scales (bilinear, align_corners=True) and flips.

    Args:
        x: ``(1, 3, H, W)`` normalised image.
    Returns:
        ``(1, C, H, W)`` averaged ``s`` at the input size.
    """
    h, w = x.shape[-2:]
    acc, n = None, 0
    for s in scales:
        xs = x if s == 1.0 else F.interpolate(x, scale_factor=s, mode="bilinear", align_corners=True)
        for fl in ((False, True) if flip else (False,)):
            inp = xs.flip(-1) if fl else xs
            out = model.cosine_logits(inp, (h, w))
            out = out.flip(-1) if fl else out
            acc = out if acc is None else acc + out
            n += 1
    return acc / n


@torch.no_grad()
def predict(model: torch.nn.Module, image_u8: np.ndarray, scales: Sequence[float] = EVAL_SCALES, flip: bool = True,
            crf: CRFParams | None = VGG_EVAL_CRF, temperature: float = 20.0, crf_iterations: int = 10,
            crf_backend: str = "lattice", device: str | torch.device = "cpu",
            compat: Literal["default", "official"] = "default") -> np.ndarray:
    """Segment one RGB image ``(H, W, 3)`` uint8 -> ``(H, W)`` uint8 class ids.

    CRF input = softmax(tau * mean logits) (§3.30). ``compat="official"`` feeds the CRF the normalised
    BGR tensor cast to uint8 (§3.31) instead of the RGB image.
    """
    img = np.asarray(image_u8)
    if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
        raise ValueError(f"predict expects an (H, W, 3) uint8 image, got {img.shape} {img.dtype}")
    was = model.training
    model.eval()
    x = caffe_normalize(torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1))[None].to(device)
    s = multiscale_cosine_logits(model, x, scales, flip)[0].cpu()
    model.train(was)
    prob = torch.softmax(temperature * s, dim=0).numpy()
    if crf is None:
        return prob.argmax(0).astype(np.uint8)
    crf_img = img
    if compat == "official":
        crf_img = (x[0].cpu().permute(1, 2, 0).to(torch.int64) % 256).to(torch.uint8).numpy()
    q = dense_crf(np.ascontiguousarray(crf_img), prob, crf, crf_iterations, crf_backend)
    return q.argmax(0).astype(np.uint8)
