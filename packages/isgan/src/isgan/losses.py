"""IS-GAN's losses with their weights (spec (I3), (I5), (I8)-(I11), section 5)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

__all__ = [
    "ISGANLoss",
    "LossWeights",
    "discriminator_loss",
    "generator_adversarial_terms",
    "identity_loss",
    "kl_standard_normal",
    "reconstruction_loss",
    "soft_targets",
]


@dataclass(frozen=True)
class LossWeights:
    """Weights of section 5 / (I11)."""

    w_id: float = 20.0            # λ_R in stage 3 (stage 1 optimises L_R alone)
    w_kl_stage2: float = 1e-3     # λ_U in stage 2
    w_kl_stage3: float = 1e-2     # λ_U in stage 3
    w_rec: float = 10.0           # each of auto-encoding, shuffling, part shuffling
    w_adv: float = 1.0
    w_cls: float = 2.0
    d_cls_weight: float = 0.5     # the ½ on D's class terms
    real_label: tuple[float, float] = (0.7, 1.0)
    fake_label: tuple[float, float] = (0.0, 0.3)


def identity_loss(logits: Sequence[torch.Tensor], labels: torch.Tensor) -> torch.Tensor:
    """(I3) ``L_R = (1/8) Σ_k CE(z_k, y)``."""
    return torch.stack([F.cross_entropy(z, labels) for z in logits]).mean()


def kl_standard_normal(mu: Sequence[torch.Tensor], logvar: Sequence[torch.Tensor]) -> torch.Tensor:
    """(I5) ``(1/K) Σ_k Σ_batch Σ_d ½ (μ² + e^ℓ − ℓ − 1)`` over the K heads (``len``, not
    ``np.size``: the official code's defect 7)."""
    if len(mu) != len(logvar) or not mu:
        raise ValueError("mu and logvar must be non-empty lists of the same length")
    terms = [0.5 * (m.pow(2) + lv.exp() - lv - 1.0).sum() for m, lv in zip(mu, logvar)]
    return torch.stack(terms).sum() / len(mu)


def reconstruction_loss(fakes: Sequence[torch.Tensor], target: torch.Tensor) -> torch.Tensor:
    """(I8) ``Σ_F mean |x̂^F − T(x)|`` with ``target = tanh(x)``."""
    return torch.stack([(f - target).abs().mean() for f in fakes]).sum()


def soft_targets(like: torch.Tensor, low: float, high: float) -> torch.Tensor:
    """Patch-wise targets uniform in ``[low, high)``, drawn fresh (torch's global generator)."""
    return torch.empty_like(like).uniform_(low, high)


def discriminator_loss(d_real: tuple[torch.Tensor, torch.Tensor], d_fakes: Sequence[tuple[torch.Tensor, torch.Tensor]],
                       labels: torch.Tensor, weights: LossWeights = LossWeights()) -> torch.Tensor:
    """(I9) ``BCE(D_img(real), t_real) + Σ_F BCE(D_img(fake), t_fake) + ½ [CE(real) + Σ_F CE(fake)]``.

    ``d_real`` / ``d_fakes`` are D's outputs ``(patch, logits)`` on the real images and on the
    detached fakes.
    """
    patch, logits = d_real
    loss = F.binary_cross_entropy(patch, soft_targets(patch, *weights.real_label))
    cls = F.cross_entropy(logits, labels)
    for fp, fl in d_fakes:
        loss = loss + F.binary_cross_entropy(fp, soft_targets(fp, *weights.fake_label))
        cls = cls + F.cross_entropy(fl, labels)
    return loss + weights.d_cls_weight * cls


def generator_adversarial_terms(d_fakes: Sequence[tuple[torch.Tensor, torch.Tensor]],
                                labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(I10) ``L_adv = Σ_F BCE(D_img(x̂^F), 1)`` and ``L_cls = Σ_F CE(D_cls(x̂^F), y)``."""
    adv = torch.stack([F.binary_cross_entropy(p, torch.ones_like(p)) for p, _ in d_fakes]).sum()
    cls = torch.stack([F.cross_entropy(lg, labels) for _, lg in d_fakes]).sum()
    return adv, cls


class ISGANLoss:
    """The stage objectives of (I11) from their parts.

    ``stage_total(stage, parts)`` with ``parts`` holding ``id`` (L_R), ``kl`` (L_U), ``rec``,
    ``adv`` and ``cls`` returns the total minimised by the encoders and G, and every weighted
    component (``L_G = w_adv L_adv + w_cls L_cls + w_rec L_rec``).
    """

    def __init__(self, weights: LossWeights = LossWeights()) -> None:
        self.w = weights

    def generator_total(self, parts: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.w.w_adv * parts["adv"] + self.w.w_cls * parts["cls"] + self.w.w_rec * parts["rec"]

    def stage_total(self, stage: int, parts: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        if stage == 1:
            return {"loss": parts["id"], "id": parts["id"]}
        if stage not in (2, 3):
            raise ValueError(f"stage must be 1, 2 or 3, got {stage}")
        out = {
            "adv": self.w.w_adv * parts["adv"],
            "cls": self.w.w_cls * parts["cls"],
            "rec": self.w.w_rec * parts["rec"],
            "kl": (self.w.w_kl_stage2 if stage == 2 else self.w.w_kl_stage3) * parts["kl"],
        }
        total = out["adv"] + out["cls"] + out["rec"] + out["kl"]
        if stage == 3:
            out["id"] = self.w.w_id * parts["id"]
            total = total + out["id"]
        out["loss"] = total
        return out
