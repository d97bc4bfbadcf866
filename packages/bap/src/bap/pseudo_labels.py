"""Stage 2: pseudo labels ``Y_crf`` and ``Y_ret`` from the stage-1 classifier (spec E6-E14, §3.16-3.22)."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F

from bap.background_aware_pooling import background_attention, grid_background_prototypes
from bap.crf import STAGE2_CRF, CRFParams, dense_crf
from bap.data.bg_mask import box_pixel_ranges, boxes_to_bg_mask

__all__ = ["BG_THRESHOLD", "PseudoLabels", "generate_pseudo_labels", "pseudo_labels_from_features"]

BG_THRESHOLD = 0.99  # E8: t of the relative background-attention threshold (stage2.py)
EPS = 1e-12


@dataclass
class PseudoLabels:
    """Stage-2 outputs of one image.

    Attributes:
        y_crf: ``(H, W)`` uint8 class ids (E11).
        y_ret: ``(H, W)`` uint8 class ids (E14).
        u0: ``(H, W)`` float32 background unary (E8).
        unary: ``(C', H, W)`` float32 CRF input probabilities over ``channels`` (E9).
        cams: ``(C', H, W)`` float32 foreground unaries u_c (E7; channel 0 = u0).
        channels: class id of every channel (``[0] + sorted GT classes``).
        crf_marginals: ``(C', H, W)`` float32 CRF output Q.
    """

    y_crf: np.ndarray
    y_ret: np.ndarray
    u0: np.ndarray
    unary: np.ndarray
    cams: np.ndarray
    channels: list[int]
    crf_marginals: np.ndarray


def pseudo_labels_from_features(feats: torch.Tensor, weights: torch.Tensor, image_u8: np.ndarray, boxes: np.ndarray,
                                *, bg_threshold: float = BG_THRESHOLD, crf: CRFParams | None = STAGE2_CRF,
                                crf_iterations: int = 10, crf_backend: str = "lattice",
                                compat: Literal["default", "official"] = "default",
                                use_u0: bool = True) -> PseudoLabels:
    """E6-E14 given pixel-resolution features.

    Args:
        feats: ``(D, H, W)`` features upsampled to the image size.
        weights: ``(L + 1, D)`` classifier weights W.
        image_u8: ``(H, W, 3)`` uint8 RGB (for the CRF).
        boxes: ``(K, 5)`` ``[x1, y1, x2, y2, cls]`` pixels, in annotation order.
        crf: CRF parameters, or None to skip the CRF (Y_crf = argmax of the unary).
        use_u0: False replaces the attention-based u0 by the background CAM (Table 1 ablation).
    """
    d, h, w = feats.shape
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 5)
    classes = sorted({int(c) for c in boxes[:, 4]})
    channels = [0] + classes
    bg = torch.from_numpy(boxes_to_bg_mask(boxes, h, w).astype(bool))
    in_boxes = ~bg
    feats = feats.float()
    cam_all = F.relu(torch.einsum("kd,dhw->khw", weights.float(), feats))  # E6
    # E7: per box normalised CAM, later boxes overwrite
    u = torch.zeros(len(channels), h, w)
    box_union = {c: torch.zeros(h, w, dtype=torch.bool) for c in classes}
    for b in boxes:
        c = int(b[4])
        rs, cs = box_pixel_ranges(b, h, w)
        region = cam_all[c, rs, cs]
        if region.numel() == 0:
            continue
        u[channels.index(c), rs, cs] = region / (region.max() + EPS)
        box_union[c][rs, cs] = True
    # E8: background attention with a single query (N = 1)
    if use_u0:
        if bg.any():
            protos, valid = grid_background_prototypes(feats[None], bg[None].float(), 1)
            att = background_attention(feats[None], protos, valid)[0]
            att = torch.where(att >= bg_threshold * att.max(), att, torch.zeros_like(att))
        else:
            if compat == "official":
                raise ValueError("image without definite-background pixels: the official code feeds NaN to the CRF")
            warnings.warn("image without definite-background pixels: u0 = 0 inside boxes (spec §3.22)", stacklevel=2)
            att = torch.zeros(h, w)
    else:
        bgc = cam_all[0]
        att = bgc / (bgc[in_boxes].max() + EPS) if in_boxes.any() else bgc
    u0 = torch.where(bg, torch.ones_like(att), att)
    u[0] = u0
    # E9: softmax inside boxes, one-hot background outside
    prob = torch.softmax(u, dim=0)
    onehot = torch.zeros_like(prob)
    onehot[0] = 1.0
    prob = torch.where(in_boxes[None], prob, onehot)
    prob_np = prob.numpy().astype(np.float32)
    q = dense_crf(image_u8, prob_np, crf, crf_iterations, crf_backend) if crf is not None else prob_np
    q = torch.from_numpy(q).clone()
    for i, c in enumerate(classes, 1):  # E11
        q[i] = q[i] * box_union[c]
    ids = torch.tensor(channels)
    y_crf = ids[q.argmax(dim=0)]
    # E12-E14 retrieval
    fn = F.normalize(feats, dim=0)
    sims = torch.zeros(len(channels), h, w)
    for i, c in enumerate(channels):
        sel = y_crf == c
        proto = feats[:, sel].mean(dim=1) if sel.any() else weights[c].float()
        sims[i] = (fn * F.normalize(proto, dim=0)[:, None, None]).sum(0).clamp_min(0)
    sims[0] = torch.where(bg, torch.ones_like(sims[0]), sims[0])
    for i, c in enumerate(classes, 1):
        sims[i] = sims[i] * box_union[c]
    y_ret = ids[sims.argmax(dim=0)]
    return PseudoLabels(y_crf.numpy().astype(np.uint8), y_ret.numpy().astype(np.uint8), u0.numpy(), prob_np,
                        u.numpy(), channels, q.numpy())


@torch.no_grad()
def generate_pseudo_labels(model: torch.nn.Module, image_u8: np.ndarray, boxes: np.ndarray, *,
                           bg_threshold: float = BG_THRESHOLD, crf: CRFParams | None = STAGE2_CRF,
                           crf_iterations: int = 10, crf_backend: str = "lattice", device: str | torch.device = "cpu",
                           compat: Literal["default", "official"] = "default", use_u0: bool = True) -> PseudoLabels:
    """Stage 2 for one full-resolution image (§3.16-3.17): eval mode, features upsampled
    (bilinear, align_corners=True) to the image size, then :func:`pseudo_labels_from_features`.

    Args:
        model: a :class:`~bap.models.BAPClassifier` (``features`` + ``class_weights``).
        image_u8: ``(H, W, 3)`` uint8 RGB.
        boxes: ``(K, 5)`` ``[x1, y1, x2, y2, cls]`` in pixels.
    """
    from bap.models.classifier import caffe_normalize

    was_training = model.training
    model.eval()
    x = caffe_normalize(torch.from_numpy(np.ascontiguousarray(image_u8)).permute(2, 0, 1))[None].to(device)
    f = model.features(x)
    f = F.interpolate(f, size=image_u8.shape[:2], mode="bilinear", align_corners=True)[0].cpu()
    model.train(was_training)
    return pseudo_labels_from_features(f, model.class_weights.detach().cpu(), image_u8, boxes,
                                       bg_threshold=bg_threshold, crf=crf, crf_iterations=crf_iterations,
                                       crf_backend=crf_backend, compat=compat, use_u0=use_u0)
