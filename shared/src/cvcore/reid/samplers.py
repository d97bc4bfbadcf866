"""P x K identity samplers: P identities with K images each per batch (reid_common spec §2.3).

Three modes, each reproducing one official sampler:

- ``"identity"`` (ISGAN ``RandomSampler``): every identity once per epoch, K images each;
- ``"exhaustive"`` (torchreid ``RandomIdentitySampler``): every image about once per epoch in
  chunks of K, P distinct identities drawn per batch;
- ``"anchor"`` (RRID ``TripletBatchSampler``): every image is an anchor once per epoch and
  contributes K *other* images of its identity (the anchor itself is never emitted).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Sampler

__all__ = ["PKSampler", "make_pk_loader"]

MODES = ("identity", "exhaustive", "anchor")


class PKSampler(Sampler[int]):
    """Flat index sequence whose consecutive blocks of ``K = num_instances`` share one pid.

    A ``DataLoader(batch_size=batch_size)`` cuts it into batches of ``P = batch_size // K``
    blocks. The generator is ``numpy.random.default_rng([seed, epoch])``; the epoch advances by
    one on every ``__iter__`` unless :meth:`set_epoch` is called (DDP style). With
    ``seed=None`` the seed is drawn from torch's global generator at construction.

    Args:
        labels: ``(N,)`` identity label of every dataset item.
        batch_size: images per batch (a multiple of ``num_instances``).
        num_instances: K, images per identity block.
        mode: ``"identity"``, ``"exhaustive"`` or ``"anchor"``.
        seed: base seed.
    """

    def __init__(self, labels: Sequence[int], batch_size: int, num_instances: int, mode: str = "exhaustive",
                 seed: int | None = None) -> None:
        if mode not in MODES:
            raise ValueError(f"PKSampler mode must be one of {MODES}, got {mode!r}")
        if num_instances < 1 or batch_size < num_instances or batch_size % num_instances:
            raise ValueError(f"batch_size ({batch_size}) must be a positive multiple of num_instances ({num_instances})")
        self.labels = np.asarray(labels, dtype=np.int64)
        self.batch_size, self.k, self.mode = int(batch_size), int(num_instances), mode
        self.p = self.batch_size // self.k
        groups: dict[int, list[int]] = defaultdict(list)
        for i, y in enumerate(self.labels.tolist()):
            groups[y].append(i)
        self.pids = sorted(groups)
        self.index = {pid: np.asarray(v, dtype=np.int64) for pid, v in groups.items()}
        if mode == "anchor":
            lonely = [pid for pid in self.pids if len(self.index[pid]) < 2]
            if lonely:
                raise ValueError(f"anchor sampling needs >= 2 images per identity; pids {lonely[:5]} have one")
        if mode == "exhaustive" and len(self.pids) < self.p:
            raise ValueError(f"exhaustive sampling needs at least P={self.p} identities, got {len(self.pids)}")
        self.seed = int(torch.randint(0, 2**31 - 1, ()).item()) if seed is None else int(seed)
        self.epoch = 0
        self._explicit_epoch = False

    def set_epoch(self, epoch: int) -> None:
        """Use the sequence of ``epoch`` on the next iteration (same epoch → same indices)."""
        self.epoch = int(epoch)
        self._explicit_epoch = True

    def __len__(self) -> int:
        n = [len(self.index[p]) for p in self.pids]
        if self.mode == "identity":
            return len(self.pids) * self.k
        if self.mode == "exhaustive":
            return int(sum(max(m, self.k) - max(m, self.k) % self.k for m in n))
        return len(self.labels) * self.k

    def __iter__(self) -> Iterator[int]:
        rng = np.random.default_rng([self.seed, self.epoch])
        if not self._explicit_epoch:
            self.epoch += 1
        self._explicit_epoch = False
        seq = getattr(self, f"_{self.mode}")(rng)
        return iter(seq.tolist())

    def _identity(self, rng: np.random.Generator) -> np.ndarray:
        out = []
        for pid in rng.permutation(np.asarray(self.pids)):
            t = self.index[int(pid)]
            if len(t) < self.k:
                t = np.tile(t, self.k)
            out.append(rng.choice(t, self.k, replace=False))
        return np.concatenate(out)

    def _exhaustive(self, rng: np.random.Generator) -> np.ndarray:
        chunks: dict[int, list[np.ndarray]] = {}
        for pid in self.pids:
            t = self.index[pid]
            t = rng.choice(t, self.k, replace=True) if len(t) < self.k else rng.permutation(t)
            n = len(t) - len(t) % self.k
            chunks[pid] = [t[j:j + self.k] for j in range(0, n, self.k)]
        avail = [pid for pid in self.pids if chunks[pid]]
        out = []
        while len(avail) >= self.p:
            for pid in rng.choice(np.asarray(avail), self.p, replace=False).tolist():
                out.append(chunks[pid].pop(0))
                if not chunks[pid]:
                    avail.remove(pid)
        return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)

    def _anchor(self, rng: np.random.Generator) -> np.ndarray:
        out = np.empty((len(self.labels), self.k), dtype=np.int64)
        for row, a in enumerate(rng.permutation(len(self.labels)).tolist()):
            t = self.index[int(self.labels[a])]
            others = t[t != a]
            out[row] = rng.choice(others, self.k, replace=len(t) <= self.k)
        return out.ravel()


def make_pk_loader(dataset: Any, labels: Sequence[int], batch_size: int, num_instances: int, mode: str = "exhaustive",
                   *, seed: int | None = None, num_workers: int = 0, drop_last: bool = True,
                   **loader_kw: Any) -> DataLoader:
    """A ``DataLoader`` over ``dataset`` with a :class:`PKSampler`; ``drop_last`` skips the last
    incomplete batch (ISGAN, torchreid)."""
    sampler = PKSampler(labels, batch_size, num_instances, mode, seed)
    return DataLoader(dataset, batch_size=batch_size, sampler=sampler, num_workers=num_workers,
                      drop_last=drop_last, **loader_kw)
