"""Baselines for the unreliable region S~ of stage 3 (paper Table 3; spec §5). **Not in the official code.**

Both keep the reliable-set cross-entropy ``L_ce`` of E17 and replace NAL's ``L_wce`` on
``S~ = {Y_crf != Y_ret, Y_crf != void}`` (E15) by

- entropy regularisation: ``lambda * (1/|S~|) sum_{p in S~} -sum_c H_c(p) log H_c(p)`` (prediction entropy
  minimised on S~);
- soft bootstrapping (Reed et al. 2015): ``lambda * (1/|S~|) sum_{p in S~} -sum_c T_c(p) log H_c(p)`` with
  ``T = beta * onehot(Y_crf) + (1 - beta) * H`` (H not detached, as in Reed et al.'s formulation).

``H = softmax(tau * s)`` as in E16. The paper does not publish lambda or beta; defaults here are
lambda = 0.1 (NAL's weight, for a like-for-like comparison) and beta = 0.95 (Reed et al.'s soft value).
An empty S~ gives a zero term (no NaN).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch.nn.functional as F
from torch import Tensor

__all__ = ["UnreliableLossOutput", "bootstrapping_loss", "entropy_regularisation_loss", "reliable_sets"]


@dataclass
class UnreliableLossOutput:
    """``loss = ce + lam * extra``; masks S and S~ ``(B, H, W)`` bool."""

    loss: Tensor
    ce: Tensor
    extra: Tensor
    reliable_mask: Tensor
    unreliable_mask: Tensor


def reliable_sets(y_crf: Tensor, y_ret: Tensor, ignore_index: int = 255) -> tuple[Tensor, Tensor]:
    """E15: ``S = {Y_crf == Y_ret != void}``, ``S~ = {Y_crf != Y_ret, Y_crf != void}``."""
    valid = y_crf != ignore_index
    return (y_crf == y_ret) & valid, (y_crf != y_ret) & valid


def _masked_mean(x: Tensor, mask: Tensor) -> Tensor:
    n = mask.sum()
    return (x * mask).sum() / n if n > 0 else x.sum() * 0.0


def _check(cos_logits: Tensor, y_crf: Tensor, y_ret: Tensor) -> None:
    if cos_logits.ndim != 4 or cos_logits.shape[-2:] != y_crf.shape[-2:] or y_crf.shape != y_ret.shape:
        raise ValueError(f"expected logits (B, C, H, W) and labels (B, H, W), got "
                         f"{tuple(cos_logits.shape)}, {tuple(y_crf.shape)}, {tuple(y_ret.shape)}")


def _parts(cos_logits: Tensor, y_crf: Tensor, y_ret: Tensor, temperature: float, ignore_index: int):
    _check(cos_logits, y_crf, y_ret)
    rel, unrel = reliable_sets(y_crf, y_ret, ignore_index)
    logp = F.log_softmax(temperature * cos_logits, dim=1)
    t = y_crf.clamp(0, cos_logits.shape[1] - 1)
    nll = -logp.gather(1, t[:, None])[:, 0]
    return rel, unrel, logp, nll, _masked_mean(nll, rel)


def entropy_regularisation_loss(cos_logits: Tensor, y_crf: Tensor, y_ret: Tensor, *, temperature: float = 20.0,
                                lam: float = 0.1, ignore_index: int = 255) -> UnreliableLossOutput:
    """``L_ce(S) + lam * mean_{S~} entropy(H)``.

    Args:
        cos_logits: ``(B, C, H, W)`` cosine logits s in [-1, 1] at label resolution.
        y_crf, y_ret: ``(B, H, W)`` long, 255 = void.
    """
    rel, unrel, logp, _, ce = _parts(cos_logits, y_crf, y_ret, temperature, ignore_index)
    ent = -(logp.exp() * logp).sum(dim=1)
    extra = _masked_mean(ent, unrel)
    return UnreliableLossOutput(ce + lam * extra, ce, extra, rel, unrel)


def bootstrapping_loss(cos_logits: Tensor, y_crf: Tensor, y_ret: Tensor, *, temperature: float = 20.0,
                       lam: float = 0.1, beta: float = 0.95, ignore_index: int = 255) -> UnreliableLossOutput:
    """``L_ce(S) + lam * mean_{S~} CE(beta onehot(Y_crf) + (1 - beta) H, H)`` (soft bootstrapping)."""
    if not 0.0 <= beta <= 1.0:
        raise ValueError(f"beta must be in [0, 1], got {beta}")
    rel, unrel, logp, nll, ce = _parts(cos_logits, y_crf, y_ret, temperature, ignore_index)
    ent = -(logp.exp() * logp).sum(dim=1)
    extra = _masked_mean(beta * nll + (1.0 - beta) * ent, unrel)
    return UnreliableLossOutput(ce + lam * extra, ce, extra, rel, unrel)
