"""How well the generator rebuilds images: the reconstruction L1 of (I8) measured in eval mode.

Used by ``isgan demo`` (before / after training, beside the mean-image baseline) and by the
tests. Everything is in the generator's image space ``T(x) = tanh(x)`` of ImageNet-normalised
inputs, the space in which (I8) compares ``x̂`` with its target.
"""

from __future__ import annotations

import torch

from isgan.model import ISGAN
from isgan.shuffle import mix_parts, part_mask, partner_indices

__all__ = ["mean_image_l1", "reconstruction_l1", "to_display"]


def mean_image_l1(x: torch.Tensor) -> float:
    """Baseline: L1 of predicting every image by the mean image, ``mean |mean_i T(x_i) − T(x)|``.

    Args:
        x: ``(N, 3, H, W)`` ImageNet-normalised images.
    """
    t = torch.tanh(x)
    return float((t - t.mean(0, keepdim=True)).abs().mean())


@torch.no_grad()
def reconstruction_l1(model: ISGAN, x: torch.Tensor, y: torch.Tensor, *, seed: int = 0,
                      batch_size: int = 64) -> dict[str, float]:
    """Mean L1 between ``T(x)`` and the three reconstructions of (I7), eval mode.

    ``auto`` = ``G(φ_R(x_i), φ_U(x_i), n, y_i)``, ``shuffle`` takes φ_R from another image of the
    same identity (a seeded partner), ``part_shuffle`` a seeded part mask of the partner's code.
    φ_U is the mean code (eval mode) and the noise is a seeded draw, so repeated calls agree.

    Args:
        x: ``(N, 3, H, W)`` ImageNet-normalised images; y: ``(N,)`` training labels (each
            identity at least twice, for the partners).

    Returns:
        ``{"auto", "shuffle", "part_shuffle"}`` mean absolute errors (in ``[0, 2]``).
    """
    was_training = model.training
    model.eval()
    g = torch.Generator().manual_seed(seed)
    partner = partner_indices(y, g)
    mask = part_mask(generator=g)
    noise = torch.randn(x.shape[0], model.generator.noise_dim, generator=g)
    id_feat, nid_feat = [], []
    for i in range(0, x.shape[0], batch_size):
        out = model.encoder(x[i:i + batch_size])
        id_feat.append(out.id_feat)
        nid_feat.append(out.nid_feat)
    id_own, nid = torch.cat(id_feat), torch.cat(nid_feat)
    id_other = id_own[partner]
    codes = {"auto": id_own, "shuffle": id_other,
             "part_shuffle": mix_parts(id_own, id_other, mask, model.config.feat_id)}
    target = torch.tanh(x)
    res = {}
    for name, code in codes.items():
        err = 0.0
        for i in range(0, x.shape[0], batch_size):
            s = slice(i, i + batch_size)
            fake = model.generator(code[s], nid[s], y[s], noise[s])
            err += float((fake - target[s]).abs().sum())
        res[name] = err / target.numel()
    model.train(was_training)
    return res


def to_display(t: torch.Tensor) -> torch.Tensor:
    """Generator space ``tanh(x)`` back to RGB in [0, 1]: ``(..., 3, H, W) -> (..., 3, H, W)``.

    Inverts the tanh (clamped away from ±1) and the ImageNet normalisation."""
    x = torch.atanh(t.clamp(-0.999, 0.999))
    mean = torch.tensor([0.485, 0.456, 0.406], dtype=t.dtype)[:, None, None]
    std = torch.tensor([0.229, 0.224, 0.225], dtype=t.dtype)[:, None, None]
    return (x * std + mean).clamp(0, 1)
