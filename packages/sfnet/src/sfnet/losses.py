"""The three training losses of SFNet (E8)-(E11), per sample and combined.

Masks are ``B x 1 x h x w`` in ``{0, 1}`` on the feature grid; flows ``B x 2 x h x w`` in
normalised units. Per-sample terms return a ``B`` vector; :class:`SFNetLoss` sums them over the
batch, weights them and divides by ``B`` (official ``custom_loss.py``).
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "LAMBDA_FLOW",
    "LAMBDA_MASK",
    "LAMBDA_SMOOTH",
    "SFNetLoss",
    "central_differences",
    "flow_consistency",
    "mask_consistency",
    "smoothness",
]

#: loss weights of the official ``train.py`` (``--lambda1 3 --lambda2 16 --lambda3 0.5``; E11).
LAMBDA_MASK = 3.0
LAMBDA_FLOW = 16.0
LAMBDA_SMOOTH = 0.5
#: added to the foreground count before dividing (E9, E10).
COUNT_EPS = 1.0

SmoothnessMode = Literal["official", "per_component"]


def _per_sample_sum(x: torch.Tensor) -> torch.Tensor:
    return x.flatten(1).sum(dim=1)


def mask_consistency(
    warped_src_mask: torch.Tensor, src_mask: torch.Tensor, warped_tgt_mask: torch.Tensor, tgt_mask: torch.Tensor
) -> torch.Tensor:
    """(E8): ``sum_p (M^_s - M_s)^2 / (h w) + sum_q (M^_t - M_t)^2 / (h w)``.

    Args:
        warped_src_mask: ``M^_s = bilinear(M_t, G_s2t)``, ``B x 1 x h x w``.
        src_mask: ``M_s``, same shape; likewise for the target pair.

    Returns:
        ``B`` per-sample losses (>= 0).
    """
    hw = src_mask.shape[-1] * src_mask.shape[-2]
    return (_per_sample_sum((warped_src_mask - src_mask) ** 2) + _per_sample_sum((warped_tgt_mask - tgt_mask) ** 2)) / hw


def flow_consistency(
    flow_s2t: torch.Tensor, warped_flow_t2s: torch.Tensor, src_mask: torch.Tensor,
    flow_t2s: torch.Tensor, warped_flow_s2t: torch.Tensor, tgt_mask: torch.Tensor,
) -> torch.Tensor:
    """(E9): the two flows must cancel on the foreground.

    ``sum_p |M_s F_s2t + M_s bilinear(F_t2s, G_s2t)|^2 / (sum M_s + 1)`` plus the same with
    s and t exchanged (the official code masks each flow before the squared difference).

    Args:
        flow_s2t: ``B x 2 x h x w``; warped_flow_t2s: ``bilinear(F_t2s, G_s2t)``, same shape.
        src_mask: ``B x 1 x h x w``; and the symmetric target-side tensors.

    Returns:
        ``B`` per-sample losses.
    """
    def one(flow: torch.Tensor, back: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        diff = flow * mask - (-back * mask)
        return _per_sample_sum(diff**2) / (_per_sample_sum(mask) + COUNT_EPS)

    return one(flow_s2t, warped_flow_t2s, src_mask) + one(flow_t2s, warped_flow_s2t, tgt_mask)


def central_differences(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``D_x g = (g(x+1) - g(x-1)) / 2`` and ``D_y`` with zero padding outside (E10).

    Args:
        x: ``B x C x h x w``.

    Returns:
        ``(D_x x, D_y x)``, each ``B x C x h x w``.
    """
    px = F.pad(x, (1, 1, 0, 0))
    py = F.pad(x, (0, 0, 1, 1))
    return (px[..., 2:] - px[..., :-2]) / 2.0, (py[..., 2:, :] - py[..., :-2, :]) / 2.0


def smoothness_map(flow: torch.Tensor, mode: SmoothnessMode = "official") -> torch.Tensor:
    """Unmasked smoothness integrand ``B x 1 x h x w`` of (E10).

    ``official``: ``|D_x(u+v)| + |D_y(u+v)|`` (the official 2-in/1-out ``[-1, 0, 1]/2`` filter sums
    the flow components before the absolute value). ``per_component``:
    ``|D_x u| + |D_x v| + |D_y u| + |D_y v|`` (the form the paper's text suggests).
    """
    if mode == "official":
        g = flow.sum(dim=1, keepdim=True)
    elif mode == "per_component":
        g = flow
    else:
        raise ValueError(f"smoothness mode must be 'official' or 'per_component', got {mode!r}")
    dx, dy = central_differences(g)
    return (dx.abs() + dy.abs()).sum(dim=1, keepdim=True)


def smoothness(
    flow_s2t: torch.Tensor, src_mask: torch.Tensor, flow_t2s: torch.Tensor, tgt_mask: torch.Tensor,
    mode: SmoothnessMode = "official",
) -> torch.Tensor:
    """(E10): ``sum_p M_s(p) S(F_s2t)(p) / (sum M_s + 1)`` plus the same for t, per sample.

    Returns:
        ``B`` per-sample losses.
    """
    def one(flow: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return _per_sample_sum(mask * smoothness_map(flow, mode)) / (_per_sample_sum(mask) + COUNT_EPS)

    return one(flow_s2t, src_mask) + one(flow_t2s, tgt_mask)


class SFNetLoss(nn.Module):
    """Total loss (E11): ``(l_mask sum_b L_mask + l_flow sum_b L_flow + l_smooth sum_b L_smooth) / B``.

    Call with the :class:`~sfnet.models.sfnet.SFNetOutput` of a forward pass *with masks* and the
    two masks; returns ``(total, {"mask": ..., "flow": ..., "smooth": ...})`` where the dict holds
    the three weighted, batch-averaged components (detached) for logging.
    """

    def __init__(self, lambda_mask: float = LAMBDA_MASK, lambda_flow: float = LAMBDA_FLOW,
                 lambda_smooth: float = LAMBDA_SMOOTH, smoothness_mode: SmoothnessMode = "official") -> None:
        super().__init__()
        if smoothness_mode not in ("official", "per_component"):
            raise ValueError(f"smoothness_mode must be 'official' or 'per_component', got {smoothness_mode!r}")
        self.lambda_mask = float(lambda_mask)
        self.lambda_flow = float(lambda_flow)
        self.lambda_smooth = float(lambda_smooth)
        self.smoothness_mode: SmoothnessMode = smoothness_mode

    def forward(self, out, src_mask: torch.Tensor, tgt_mask: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        if out.warped_src_mask is None:
            raise ValueError("the model output has no warped masks: call the model with src_mask and tgt_mask")
        b = src_mask.shape[0]
        lm = mask_consistency(out.warped_src_mask, src_mask, out.warped_tgt_mask, tgt_mask).sum()
        lf = flow_consistency(out.flow_s2t, out.warped_flow_t2s, src_mask,
                              out.flow_t2s, out.warped_flow_s2t, tgt_mask).sum()
        ls = smoothness(out.flow_s2t, src_mask, out.flow_t2s, tgt_mask, self.smoothness_mode).sum()
        parts = (self.lambda_mask * lm / b, self.lambda_flow * lf / b, self.lambda_smooth * ls / b)
        total = parts[0] + parts[1] + parts[2]
        return total, {"mask": float(parts[0].detach()), "flow": float(parts[1].detach()),
                       "smooth": float(parts[2].detach())}
