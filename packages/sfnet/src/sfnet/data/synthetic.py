"""The synthetic-affine training pairs of SFNet (official ``Pascal_Seg_Synth``; spec section 3, steps 1-10).

One image with a foreground mask gives two random affine warps of itself: a source and a
target image, their warped masks on the feature grid, and (for tests) the ground-truth grid.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from sfnet.data.transforms import normalize, resize, to_float_image, to_mask
from sfnet.flow import grid_to_flow, regular_grid

__all__ = ["MASK_THRESHOLD", "SyntheticPairDataset", "affine_warp", "color_jitter", "compose_affine",
           "invert_affine", "random_affine"]

#: binarisation threshold of the feature-grid masks (official ``custom_dataset.py``).
MASK_THRESHOLD = 0.1
#: std of the affine noise, colour-jitter strength and flip probability (official defaults).
AFFINE_STD = 0.15
JITTER = 0.1
HFLIP_P = 0.5


def random_affine(std: float = AFFINE_STD, generator: torch.Generator | None = None) -> torch.Tensor:
    """``theta = I_{2x3} + eps``, ``eps ~ N(0, std^2)`` i.i.d. on all six entries (float32 ``2 x 3``)."""
    eye = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    return eye + std * torch.randn(2, 3, generator=generator)


def invert_affine(theta: torch.Tensor) -> torch.Tensor:
    """Inverse of a ``(B x) 2 x 3`` affine map ``x -> A x + t``: ``x -> A^-1 x - A^-1 t``."""
    a, t = theta[..., :2], theta[..., 2:]
    ai = torch.linalg.inv(a)
    return torch.cat([ai, -ai @ t], dim=-1)


def compose_affine(outer: torch.Tensor, inner: torch.Tensor) -> torch.Tensor:
    """``x -> outer(inner(x))`` for ``(B x) 2 x 3`` maps."""
    a = outer[..., :2] @ inner[..., :2]
    t = outer[..., :2] @ inner[..., 2:] + outer[..., 2:]
    return torch.cat([a, t], dim=-1)


def affine_warp(x: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """Output location p samples ``x`` at ``theta [p; 1]`` (normalised, corner-aligned, zero padding).

    Args:
        x: ``C x H x W``; theta: ``2 x 3``.
    """
    grid = F.affine_grid(theta.unsqueeze(0).to(x.dtype), [1, *x.shape], align_corners=True)
    return F.grid_sample(x.unsqueeze(0), grid, mode="bilinear", padding_mode="zeros", align_corners=True)[0]


def color_jitter(img: torch.Tensor, strength: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Brightness, contrast, saturation (factors in ``[1-s, 1+s]``) and hue (``[-s, s]``) in random order.

    Same ranges as ``torchvision.transforms.ColorJitter(s, s, s, s)``, but drawn from ``generator``.
    """
    if strength <= 0:
        return img
    from torchvision.transforms import functional as TF

    def u(lo: float, hi: float) -> float:
        return float(lo + (hi - lo) * torch.rand((), generator=generator))

    ops = [
        lambda x, f=u(1 - strength, 1 + strength): TF.adjust_brightness(x, f),
        lambda x, f=u(1 - strength, 1 + strength): TF.adjust_contrast(x, f),
        lambda x, f=u(1 - strength, 1 + strength): TF.adjust_saturation(x, f),
        lambda x, f=u(-min(strength, 0.5), min(strength, 0.5)): TF.adjust_hue(x, f),
    ]
    for i in torch.randperm(4, generator=generator).tolist():
        img = ops[i](img)
    return img.clamp(0, 1)


class SyntheticPairDataset(Dataset):
    """Pairs made from single images with foreground masks (spec section 3, "Data").

    Args:
        images: sequence of ``H x W x 3`` uint8 arrays (any size; e.g. the official
            ``VOC2012_seg_img.npy`` object array).
        masks: matching ``H x W`` foreground masks, 0/255 (official) or 0/1.
        image_size: training image size (320 x 320).
        feature_size: mask/flow grid (20 x 20).
        affine_std, jitter, hflip_p: augmentation strengths (0.15, 0.1, 0.5).
        return_gt: also return ``theta1``, ``theta2``, ``gt_grid_s2t`` (``h x w x 2``: source cell p ->
            target location ``theta2^-1 theta1 [p; 1]``), ``gt_flow_s2t`` (``2 x h x w``),
            ``gt_grid_t2s`` and ``gt_flow_t2s``.
        seed: ``None`` draws from the global torch RNG; an int makes item i a fixed function of
            ``(seed, epoch, i)`` (see :meth:`set_epoch`), independent of workers.

    Item (dict): ``image1``/``image2`` (normalised ``3 x H x W``, source/target), ``mask1``/``mask2``
    (``1 x h x w`` in {0, 1}), ``image1_rgb``/``image2_rgb`` (``[0, 1]``).
    """

    def __init__(self, images: Sequence[Any], masks: Sequence[Any], image_size: tuple[int, int] = (320, 320),
                 feature_size: tuple[int, int] = (20, 20), affine_std: float = AFFINE_STD, jitter: float = JITTER,
                 hflip_p: float = HFLIP_P, return_gt: bool = False, seed: int | None = None) -> None:
        if len(images) != len(masks):
            raise ValueError(f"{len(images)} images but {len(masks)} masks")
        if len(images) == 0:
            raise ValueError("SyntheticPairDataset needs at least one image")
        self.images, self.masks = images, masks
        self.image_size = (int(image_size[0]), int(image_size[1]))
        self.feature_size = (int(feature_size[0]), int(feature_size[1]))
        self.affine_std, self.jitter, self.hflip_p = float(affine_std), float(jitter), float(hflip_p)
        self.return_gt = return_gt
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Draw different (still seeded) pairs in each epoch."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.images)

    def _generator(self, index: int) -> torch.Generator | None:
        if self.seed is None:
            return None
        g = torch.Generator()
        g.manual_seed((self.seed * 1_000_003 + self.epoch * 7_919 + index) % (2**63))
        return g

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        g = self._generator(index)
        img = to_float_image(self.images[index])
        mask = to_mask(self.masks[index])
        if tuple(mask.shape[-2:]) != tuple(img.shape[-2:]):
            raise ValueError(f"item {index}: mask {tuple(mask.shape[-2:])} and image {tuple(img.shape[-2:])} differ")
        if float(torch.rand((), generator=g)) < self.hflip_p:  # step 2
            img, mask = img.flip(-1), mask.flip(-1)
        img, mask = resize(img, self.image_size), resize(mask, self.image_size)  # step 3
        view1 = color_jitter(img, self.jitter, g)  # step 4
        view2 = color_jitter(img, self.jitter, g)
        theta1 = random_affine(self.affine_std, g)  # step 5
        src = affine_warp(view1, theta1)
        mask = affine_warp(affine_warp(mask, theta1), invert_affine(theta1))  # step 6
        theta2 = random_affine(self.affine_std, g)  # step 7
        tgt = affine_warp(view2, theta2)
        mask_t = affine_warp(mask, theta2)
        mask = affine_warp(mask_t, invert_affine(theta2))  # step 8
        mask_s = affine_warp(mask, theta1)
        m1 = (resize(mask_s, self.feature_size) > MASK_THRESHOLD).float()  # step 9
        m2 = (resize(mask_t, self.feature_size) > MASK_THRESHOLD).float()
        item = {"image1": normalize(src), "image2": normalize(tgt), "mask1": m1, "mask2": m2,  # step 10
                "image1_rgb": src, "image2_rgb": tgt}
        if self.return_gt:
            item.update(ground_truth(theta1, theta2, self.feature_size))
        return item


def ground_truth(theta1: torch.Tensor, theta2: torch.Tensor, feature_size: tuple[int, int]) -> dict[str, torch.Tensor]:
    """Ground-truth grids/flows of a pair made with :class:`SyntheticPairDataset` (step 10).

    Source cell p shows the canonical point ``theta1 p``; target cell q shows ``theta2 q``; so
    ``G_s2t(p) = theta2^-1 theta1 p`` and ``G_t2s(q) = theta1^-1 theta2 q``.
    """
    h, w = feature_size
    base = torch.cat([regular_grid(h, w), torch.ones(h, w, 1)], dim=-1)  # h x w x 3
    s2t = compose_affine(invert_affine(theta2), theta1)
    t2s = compose_affine(invert_affine(theta1), theta2)
    g_s2t = base @ s2t.T
    g_t2s = base @ t2s.T
    return {"theta1": theta1, "theta2": theta2, "gt_grid_s2t": g_s2t, "gt_grid_t2s": g_t2s,
            "gt_flow_s2t": grid_to_flow(g_s2t[None])[0], "gt_flow_t2s": grid_to_flow(g_t2s[None])[0]}
