"""Training augmentation of stages 1 and 3 (spec §3.3, §3.25), on torch tensors.

Image ``(3, H, W)`` uint8 RGB; boxes ``(K, 5)`` pixels; masks/labels ``(H, W)`` uint8.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

__all__ = ["CROP_SIZE", "IMAGE_PAD", "augment", "clip_boxes", "color_jitter"]

CROP_SIZE = 321
IMAGE_PAD = (123, 117, 104)  # RGB padding colour (transforms_bbox.py)
SCALE_RANGE = (0.5, 1.5)


def _resize(img: torch.Tensor, size: tuple[int, int], nearest: bool) -> torch.Tensor:
    x = img[None].float() if img.ndim == 3 else img[None, None].float()
    if nearest:
        h, w = x.shape[-2:]
        ry = (torch.arange(size[0]) * (h / size[0])).floor().long().clamp(max=h - 1)
        rx = (torch.arange(size[1]) * (w / size[1])).floor().long().clamp(max=w - 1)
        out = x[..., ry[:, None], rx[None, :]]
    else:
        out = F.interpolate(x, size=size, mode="bilinear", align_corners=False).round().clamp(0, 255)
    return out[0].to(img.dtype) if img.ndim == 3 else out[0, 0].to(img.dtype)


def clip_boxes(boxes: torch.Tensor, crop: int) -> torch.Tensor:
    """§3.3 ``clip_bbox``: drop boxes entirely outside ``[0, crop)``; edges beyond right/bottom -> crop + 1,
    beyond left/top -> 0."""
    if boxes.numel() == 0:
        return boxes
    keep = (boxes[:, 2] > 0) & (boxes[:, 3] > 0) & (boxes[:, 0] < crop) & (boxes[:, 1] < crop)
    b = boxes[keep].clone()
    b[:, 0:2] = b[:, 0:2].clamp_min(0)
    for i in (2, 3):
        b[:, i] = torch.where(b[:, i] > crop, torch.full_like(b[:, i], crop + 1), b[:, i])
    return b


def _gray(img: torch.Tensor) -> torch.Tensor:
    r, g, b = img.float().unbind(0)
    return (0.2989 * r + 0.587 * g + 0.114 * b).to(img.dtype)


def _blend(a: torch.Tensor, b: torch.Tensor, ratio: float) -> torch.Tensor:
    return (ratio * a.float() + (1.0 - ratio) * b.float()).clamp(0, 255).to(a.dtype)


def color_jitter(img: torch.Tensor, gen: torch.Generator, strength: float = 0.5) -> torch.Tensor:
    """Brightness, contrast, saturation factors ~ U(1 - s, 1 + s), in that order, hue off (§3.3).

    Same arithmetic as torchvision's tensor ``adjust_brightness/contrast/saturation`` on uint8
    (blend with black, with the grey mean, with the grey image), without importing torchvision.
    """
    f = 1 + strength * (2 * torch.rand(3, generator=gen) - 1)
    x = _blend(img, torch.zeros_like(img), float(f[0]))
    x = _blend(x, _gray(x).float().mean().expand_as(x), float(f[1]))
    return _blend(x, _gray(x).expand_as(x), float(f[2]))


def augment(image: torch.Tensor, boxes: torch.Tensor, masks: list[torch.Tensor], mask_pad: list[int],
            gen: torch.Generator, crop: int = CROP_SIZE, scale_range: tuple[float, float] = SCALE_RANGE,
            jitter: bool = True) -> tuple[torch.Tensor, torch.Tensor, list[torch.Tensor]]:
    """Random scale -> pad to ``crop`` (``ceil(diff/2)`` both sides) -> random crop -> flip (p = 0.5, only with
    boxes) -> colour jitter. ``masks`` (bg mask or pseudo labels) follow with nearest resizing and pad values
    ``mask_pad``. Returns image ``(3, crop, crop)`` uint8, boxes ``(K', 5)``, masks ``(crop, crop)``."""
    _, h, w = image.shape
    s = float(scale_range[0] + (scale_range[1] - scale_range[0]) * torch.rand((), generator=gen))
    nh, nw = max(1, round(h * s)), max(1, round(w * s))
    image = _resize(image, (nh, nw), nearest=False)
    masks = [_resize(m, (nh, nw), nearest=True) for m in masks]
    boxes = boxes.clone().float()
    boxes[:, :4] *= s
    ph, pw = max(0, math.ceil((crop - nh) / 2)), max(0, math.ceil((crop - nw) / 2))
    if ph or pw:
        pad_img = torch.tensor(IMAGE_PAD, dtype=image.dtype).view(3, 1, 1)
        canvas = pad_img.expand(3, nh + 2 * ph, nw + 2 * pw).clone()
        canvas[:, ph:ph + nh, pw:pw + nw] = image
        image = canvas
        new_masks = []
        for m, v in zip(masks, mask_pad):
            c = torch.full((nh + 2 * ph, nw + 2 * pw), v, dtype=m.dtype)
            c[ph:ph + nh, pw:pw + nw] = m
            new_masks.append(c)
        masks = new_masks
        boxes[:, [0, 2]] += pw
        boxes[:, [1, 3]] += ph
    _, hh, ww = image.shape
    oy = math.floor(float(torch.rand((), generator=gen)) * (hh - crop))
    ox = math.floor(float(torch.rand((), generator=gen)) * (ww - crop))
    image = image[:, oy:oy + crop, ox:ox + crop]
    masks = [m[oy:oy + crop, ox:ox + crop] for m in masks]
    boxes[:, [0, 2]] -= ox
    boxes[:, [1, 3]] -= oy
    boxes = clip_boxes(boxes, crop)
    if float(torch.rand((), generator=gen)) < 0.5 and boxes.shape[0] > 0:
        image = image.flip(-1)
        masks = [m.flip(-1) for m in masks]
        x1 = boxes[:, 0].clone()
        boxes[:, 0] = crop - boxes[:, 2]
        boxes[:, 2] = crop - x1
    if jitter:
        image = color_jitter(image.contiguous(), gen)
    return image.contiguous(), boxes, [m.contiguous() for m in masks]


