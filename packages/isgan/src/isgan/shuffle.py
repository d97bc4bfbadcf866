"""Identity shuffling: partner choice, part masks and part mixing (spec (I7), section 3)."""

from __future__ import annotations

import torch

__all__ = ["mix_parts", "official_partner_indices", "part_mask", "partner_indices"]


def partner_indices(labels: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """For every i a random j(i) != i with ``labels[j] == labels[i]``, chosen among the batch.

    Args:
        labels: ``(B,)`` identity labels.

    Raises:
        ValueError: an identity has a single image in the batch (no partner exists; use a
            P x K sampler with K >= 2).
    """
    labels = labels.view(-1).cpu()
    same = labels[:, None] == labels[None, :]
    same.fill_diagonal_(False)
    counts = same.sum(1)
    if (counts == 0).any():
        lonely = labels[counts == 0].unique().tolist()
        raise ValueError(f"identities {lonely[:5]} have one image in the batch: no shuffling partner "
                         "(sample K >= 2 images per identity)")
    # pick the r-th other image of the same identity, r uniform in [0, count)
    r = (torch.rand(labels.numel(), generator=generator) * counts).long().clamp_max(counts - 1)
    order = torch.cumsum(same.long(), 1) - 1  # rank of each candidate among the row's candidates
    hit = same & (order == r[:, None])
    return hit.float().argmax(1)


def official_partner_indices(batch_size: int, block: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """The official rule (defect 3): j(i) uniform in ``[block * (i // block), ... + block)`` minus i.

    Correct only when ``block`` equals K, the images per identity (the official code passes P;
    P = K = 4 by default).
    """
    idx = torch.arange(batch_size)
    start = (idx // block) * block
    offset = (torch.rand(batch_size, generator=generator) * (block - 1)).long()
    j = start + offset
    return torch.where(j >= idx, j + 1, j).clamp_max(batch_size - 1)


def part_mask(num_parts: int = 8, generator: torch.Generator | None = None, official: bool = False) -> torch.Tensor:
    """A ``(num_parts,)`` bool mask, uniform over {0,1}^n minus all-zeros and all-ones.

    ``official=True`` returns the all-zeros mask the released code ends up with (defect 2: its
    re-sampling condition never holds, so part shuffling never shuffles).
    """
    if official:
        return torch.zeros(num_parts, dtype=torch.bool)
    if num_parts < 2:
        raise ValueError("part shuffling needs at least 2 parts")
    while True:
        m = torch.rand(num_parts, generator=generator) < 0.5
        if 0 < int(m.sum()) < num_parts:
            return m


def mix_parts(id_a: torch.Tensor, id_b: torch.Tensor, mask: torch.Tensor, part_dim: int) -> torch.Tensor:
    """``m ⊙ id_b + (1 - m) ⊙ id_a`` with ``m`` expanded over each ``part_dim`` block.

    Args:
        id_a: ``(B, P * part_dim)`` own identity codes; id_b: the partners' codes.
        mask: ``(P,)`` bool, True = take the part from ``id_b``.
    """
    if id_a.shape != id_b.shape or id_a.shape[1] != mask.numel() * part_dim:
        raise ValueError(f"codes {tuple(id_a.shape)} / {tuple(id_b.shape)} do not fit {mask.numel()} parts of {part_dim}")
    m = mask.to(id_a.device).repeat_interleave(part_dim)[None, :]
    return torch.where(m, id_b, id_a)
