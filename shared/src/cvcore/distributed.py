"""Data-parallel training under ``torchrun`` (gloo on CPU, nccl on GPU), or single-process.

Every helper works unchanged without a process group: rank 0 of a world of 1.

Example::

    info = init_distributed("auto")          # reads RANK / WORLD_SIZE / LOCAL_RANK
    model = wrap_model(model.to(info.device), info)
    sampler = make_sampler(dataset, shuffle=True, seed=0)
    ...
    loss = all_reduce_mean(loss.detach())
    if is_main_process():
        save_checkpoint(...)
    cleanup()
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import os
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

import torch
import torch.distributed as dist
from torch.utils.data import Dataset, DistributedSampler, Sampler

__all__ = [
    "DistInfo",
    "all_reduce_mean",
    "average_gradients",
    "all_reduce_sum",
    "barrier",
    "cleanup",
    "get_rank",
    "get_world_size",
    "init_distributed",
    "is_distributed",
    "is_main_process",
    "make_sampler",
    "parameter_divergence",
    "rank_zero_only",
    "reduce_dict",
    "resolve_device",
    "wrap_model",
]

F = TypeVar("F", bound=Callable[..., Any])


@dataclasses.dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def resolve_device(name: str | torch.device = "auto") -> torch.device:
    """``auto`` picks CUDA when available; ``cuda`` without a GPU is a clear error."""
    from cvcore.errors import UserError

    if isinstance(name, torch.device):
        return name
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise UserError("--device cuda was requested but no CUDA device is available")
    try:
        return torch.device(name)
    except RuntimeError as exc:
        raise UserError(f"unknown device {name!r}: use auto, cpu or cuda") from exc


def is_distributed() -> bool:
    return dist.is_available() and dist.is_initialized()


def get_rank() -> int:
    return dist.get_rank() if is_distributed() else 0


def get_world_size() -> int:
    return dist.get_world_size() if is_distributed() else 1


def is_main_process() -> bool:
    """Rank 0 of the process group; without one, torchrun's ``RANK`` variable decides (so the answer
    stays right after :func:`cleanup`, e.g. for printing the final result once), else True."""
    if is_distributed():
        return dist.get_rank() == 0
    return os.environ.get("RANK", "0") == "0"


def init_distributed(device: str | torch.device = "auto", *, timeout_s: float = 1800.0) -> DistInfo:
    """Join the process group described by torchrun's environment variables, if any.

    Without ``WORLD_SIZE`` > 1 this only resolves the device. The backend is nccl when the
    device is CUDA and gloo otherwise; each rank uses GPU ``LOCAL_RANK``.
    """
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    dev = resolve_device(device)
    if world_size <= 1:
        return DistInfo(0, 1, 0, dev)
    if dev.type == "cuda":
        dev = torch.device("cuda", local_rank)
        torch.cuda.set_device(dev)
    if not is_distributed():
        dist.init_process_group(
            backend="nccl" if dev.type == "cuda" else "gloo",
            timeout=datetime.timedelta(seconds=timeout_s),
        )
    return DistInfo(rank, world_size, local_rank, dev)


def cleanup() -> None:
    if is_distributed():
        dist.destroy_process_group()


def barrier() -> None:
    if is_distributed():
        dist.barrier()


def wrap_model(model: torch.nn.Module, info: DistInfo | None = None, **ddp_kwargs: Any) -> torch.nn.Module:
    """Wrap in DistributedDataParallel when running distributed; otherwise return ``model``."""
    if not is_distributed():
        return model
    info = info or DistInfo(get_rank(), get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))
    if info.device.type == "cuda":
        ddp_kwargs.setdefault("device_ids", [info.device.index])
    return torch.nn.parallel.DistributedDataParallel(model, **ddp_kwargs)


def make_sampler(dataset: Dataset, *, shuffle: bool, seed: int = 0, drop_last: bool = False) -> Sampler | None:
    """A ``DistributedSampler`` when distributed, else ``None`` (let the DataLoader shuffle).

    Remember ``sampler.set_epoch(epoch)`` at the start of each epoch.
    """
    if not is_distributed():
        return None
    return DistributedSampler(dataset, shuffle=shuffle, seed=seed, drop_last=drop_last)


def all_reduce_sum(t: torch.Tensor) -> torch.Tensor:
    """Sum over ranks (a copy; the input is left alone)."""
    out = t.detach().clone()
    if is_distributed():
        dist.all_reduce(out, op=dist.ReduceOp.SUM)
    return out


def all_reduce_mean(t: torch.Tensor) -> torch.Tensor:
    """Mean over ranks."""
    return all_reduce_sum(t.float()) / get_world_size()


def reduce_dict(metrics: Mapping[str, float], *, average: bool = True) -> dict[str, float]:
    """All-reduce a dict of scalars in one collective call."""
    if not is_distributed():
        return {k: float(v) for k, v in metrics.items()}
    keys = sorted(metrics)
    vec = torch.tensor([float(metrics[k]) for k in keys], dtype=torch.float64)
    dist.all_reduce(vec, op=dist.ReduceOp.SUM)
    if average:
        vec /= get_world_size()
    return {k: float(v) for k, v in zip(keys, vec.tolist())}


def rank_zero_only(fn: F) -> F:
    """Decorator: run ``fn`` on rank 0 only (returns None elsewhere)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if is_main_process():
            return fn(*args, **kwargs)
        return None

    return wrapper  # type: ignore[return-value]


def average_gradients(params: Iterable[torch.nn.Parameter]) -> None:
    """Average ``.grad`` over ranks in place: data parallelism for training loops that drive
    several sub-networks and optimisers (GANs) where one DDP wrapper does not fit. After it,
    every rank holds the gradient of the mean loss over the union of their batches, as with DDP.
    """
    if not is_distributed():
        return
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat, op=dist.ReduceOp.SUM)
    flat /= get_world_size()
    offset = 0
    for g in grads:
        n = g.numel()
        g.copy_(flat[offset:offset + n].view_as(g))
        offset += n


def parameter_divergence(params: torch.nn.Module | Iterable[torch.Tensor]) -> float:
    """Largest ``|p_rank - p_rank0|`` over the given parameters and all ranks (0.0 when not distributed).

    DDP (or :func:`average_gradients`) must keep replicas bit-identical; call this at the end of
    training to check it. Every rank must call it (it is a collective). Values are compared in
    float64, so any difference in a float32 parameter shows up.
    """
    if not is_distributed():
        return 0.0
    tensors = list(params.parameters() if isinstance(params, torch.nn.Module) else params)
    if not tensors:
        return 0.0
    flat = torch.cat([t.detach().to(torch.float64).reshape(-1) for t in tensors])
    ref = flat.clone()
    dist.broadcast(ref, 0)
    diff = (flat - ref).abs().max()
    dist.all_reduce(diff, op=dist.ReduceOp.MAX)
    return float(diff)
