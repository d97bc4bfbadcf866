"""The memory module: ``M`` unit prototype items, read by every query, updated after each batch.

The items are a buffer, not a parameter: no optimiser touches them; they change only through the
update (E4) (official ``Train.py``: the optimiser holds encoder and decoder only).
"""

from __future__ import annotations

from typing import Literal, NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mnad import functional as MF

__all__ = ["Memory", "MemoryOutput"]


class MemoryOutput(NamedTuple):
    """Result of :meth:`Memory.forward`.

    Attributes:
        z: ``(B, 2C, h, w)`` decoder input ``[q ; p_hat]`` (E3), query channels first.
        query: ``(N, C)`` unit queries (E1).
        compactness: scalar (E5) against ``items_before``.
        separateness: scalar (E6) against ``items_before`` (0 when ``M < 2``).
        nearest: ``(N,)`` index of each query's nearest item.
        items_before: ``(M, C)`` items used by the losses and the read.
        items_after: ``(M, C)`` items after the update (``items_before`` when not updating).
    """

    z: Tensor
    query: Tensor
    compactness: Tensor
    separateness: Tensor
    nearest: Tensor
    items_before: Tensor
    items_after: Tensor


class Memory(nn.Module):
    """Memory of ``num_items`` unit vectors of size ``dim`` (paper Sec. 3.2).

    Args:
        num_items: ``M`` (10 in the paper).
        dim: ``C``, the encoder's channel count (512 at full size).
        normalize: ``"all"`` (official code) or ``"assigned"`` (paper) for the max in (E4).
        generator: optional ``torch.Generator`` for a reproducible initialisation.
    """

    items: Tensor

    def __init__(
        self,
        num_items: int = 10,
        dim: int = 512,
        *,
        normalize: Literal["all", "assigned"] = "all",
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        if num_items < 1 or dim < 1:
            raise ValueError(f"num_items and dim must be >= 1, got {num_items}, {dim}")
        if normalize not in ("all", "assigned"):
            raise ValueError(f"normalize must be 'all' or 'assigned', got {normalize!r}")
        self.num_items = num_items
        self.dim = dim
        self.normalize = normalize
        self.register_buffer("items", torch.empty(num_items, dim))
        self.reset(generator)

    def reset(self, generator: torch.Generator | None = None) -> None:
        """Official initialisation: ``uniform[0, 1)`` then L2 normalisation of each row."""
        with torch.no_grad():
            raw = torch.rand(self.num_items, self.dim, generator=generator)
            self.items.copy_(F.normalize(raw, dim=1, eps=MF.NORM_EPS).to(self.items))

    def _items(self, items: Tensor | None) -> Tensor:
        return self.items if items is None else items

    def scores(self, q: Tensor, items: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor]:
        """(E2) ``(S, W_read, V_upd)`` for ``(N, C)`` unit queries."""
        return MF.memory_scores(q, self._items(items))

    def read(self, q: Tensor, items: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """(E3) ``([q ; p_hat] (N, 2C), W_read (N, M))``."""
        return MF.memory_read(q, self._items(items))

    def update(self, q: Tensor, items: Tensor | None = None) -> Tensor:
        """(E4) New items ``(M, C)`` (detached); does not store them."""
        return MF.memory_update(q, self._items(items), normalize=self.normalize)

    def losses(self, q: Tensor, items: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """(E5), (E6): ``(compactness, separateness)``; items are constants."""
        p = self._items(items)
        _, w, _ = MF.memory_scores(q, p)
        k = min(2, p.shape[0])
        top = MF.nearest_items(w, k)
        comp = MF.compactness_loss(q, p, top[:, 0])
        sep = MF.separateness_loss(q, p, top) if k == 2 else q.new_zeros(())
        return comp, sep

    def forward(self, feat: Tensor, *, update: bool, items: Tensor | None = None) -> MemoryOutput:
        """Official training order: losses, read and update all use the *old* items; the new
        items are stored into the buffer afterwards (used from the next batch on).

        Args:
            feat: ``(B, C, h, w)`` encoder output.
            update: apply (E4) and store the result (training). With ``items`` given
                (test-time memory), the buffer is never written.
            items: optional ``(M, C)`` items to use instead of the buffer.
        """
        b, c, h, w = feat.shape
        if c != self.dim:
            raise ValueError(f"memory expects {self.dim} feature channels, got {c}")
        old = self._items(items).detach()
        if update and items is None:
            old = old.clone()  # the buffer is overwritten below; keep the old items intact
        q = MF.flatten_queries(feat)
        _, w_read, _ = MF.memory_scores(q, old)
        k = min(2, old.shape[0])
        top = MF.nearest_items(w_read, k)
        comp = MF.compactness_loss(q, old, top[:, 0])
        sep = MF.separateness_loss(q, old, top) if k == 2 else q.new_zeros(())
        read = w_read.detach() @ old
        z = torch.cat((q, read), dim=1).reshape(b, h, w, 2 * c).permute(0, 3, 1, 2)
        new = old
        if update:
            new = MF.memory_update(q, old, normalize=self.normalize, nearest=top[:, 0])
            if items is None:
                new = self._sync(new)
                with torch.no_grad():
                    self.items.copy_(new)
        return MemoryOutput(z, q, comp, sep, top[:, 0], old, new)

    @staticmethod
    def _sync(new: Tensor) -> Tensor:
        """Under DDP every rank updates with its own batch; keep the items identical by averaging
        the ranks' updated items and re-normalising (a no-op in a single process)."""
        from cvcore.distributed import all_reduce_mean, is_distributed

        if not is_distributed():
            return new
        return F.normalize(all_reduce_mean(new), dim=1, eps=MF.NORM_EPS)

    def extra_repr(self) -> str:
        return f"num_items={self.num_items}, dim={self.dim}, normalize={self.normalize!r}"
