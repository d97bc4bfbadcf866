"""Shared pieces of the iteration-based training loops: batch sampling, checkpoints, resume."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from cvcore.checkpoint import load_checkpoint, restore, save_checkpoint
from cvcore.config import save_config

__all__ = ["BatchSampler", "save_state", "resume_state"]


class BatchSampler:
    """Shuffled, drop-last batches of indices from a seeded generator; restarts when exhausted (§3.15).

    Under DDP every rank draws the same permutation and takes its slice of the global batch.
    """

    def __init__(self, n: int, batch_size: int, gen: torch.Generator, rank: int = 0, world: int = 1) -> None:
        if n < batch_size:
            raise ValueError(f"data set has {n} items, fewer than the batch size {batch_size}")
        self.n, self.bs, self.gen, self.rank, self.world = n, batch_size, gen, rank, world
        self.perm: list[int] = []
        self.pos = 0

    def next(self) -> list[int]:
        if self.pos + self.bs > len(self.perm):
            self.perm = torch.randperm(self.n, generator=self.gen).tolist()
            self.pos = 0
        batch = self.perm[self.pos:self.pos + self.bs]
        self.pos += self.bs
        per = (self.bs + self.world - 1) // self.world
        return batch[self.rank * per:(self.rank + 1) * per]

    def state(self) -> dict[str, Any]:
        return {"perm": torch.tensor(self.perm, dtype=torch.long), "pos": self.pos}

    def load(self, st: dict[str, Any]) -> None:
        self.perm, self.pos = st["perm"].tolist(), int(st["pos"])


def save_state(path: Path, *, model: torch.nn.Module, optimizer: Any, step: int, config: Any, kind: str,
               gen: torch.Generator, sampler: BatchSampler, amp: Any = None) -> Path:
    from bap import __version__

    save_config(config, path.parent / "config.toml")
    return save_checkpoint(path, package="bap", version=__version__, model=model, optimizer=optimizer, config=config,
                           step=step, extra={"kind": kind, "gen": gen.get_state(), "sampler": sampler.state(),
                                  "grad_scaler": amp.state_dict() if amp is not None else {}})


def resume_state(path: Path, *, model: torch.nn.Module, optimizer: Any, gen: torch.Generator,
                 sampler: BatchSampler, kind: str, amp: Any = None) -> int:
    from bap import __version__
    from cvcore.errors import CheckpointError

    ckpt = load_checkpoint(path, package="bap", version=__version__)
    if ckpt.get("extra", {}).get("kind") != kind:
        raise CheckpointError(f"{path} is a '{ckpt.get('extra', {}).get('kind')}' checkpoint, not '{kind}'")
    restore(ckpt, model=model, optimizer=optimizer)
    gen.set_state(ckpt["extra"]["gen"])
    sampler.load(ckpt["extra"]["sampler"])
    if amp is not None:
        amp.load_state_dict(ckpt["extra"].get("grad_scaler"))
    return int(ckpt["step"])
