"""Training loop (§3.9, E34–E36): batches through :class:`hvpr.HVPR`, one-cycle AdamW, checkpoints, DDP.

Layout of ``output_dir``: ``config.toml`` (the resolved config), ``last.pt`` (cvcore checkpoint, atomic, with
optimizer state, step and RNG), ``log.jsonl`` (one line per logged step and per evaluation) and
``metrics.json`` (the last evaluation). Under ``torchrun`` every rank trains on its own shard of each epoch
(``DistributedSampler``), gradients are averaged by DDP and only rank 0 writes files.

Resuming is bit-for-bit: the data order of an epoch is a function of (seed, epoch), the point sampling of a
step is a function of (seed, step), and the checkpoint holds the model, the optimizer moments and every RNG.
(With ``num_workers > 0`` the workers' RNG is re-seeded per epoch, so use ``num_workers = 0`` when exact
resumption matters and the dataset's augmentation draws from the global RNG.)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from cvcore import distributed as dist
from cvcore.checkpoint import load_checkpoint, restore, save_checkpoint
from cvcore.config import config_to_dict, from_dict, save_config
from cvcore.errors import CheckpointError, ConfigError, DataError
from cvcore.io import atomic_write_json
from cvcore.progress import MetricsLogger, format_summary, get_logger, progress
from hvpr.config import HVPRConfig
from hvpr.engine.batching import model_batch, step_seed
from hvpr.engine.optim import OneCycleSchedule, make_optimizer, optimizer_step

CHECKPOINT_NAME = "last.pt"


@dataclass
class TrainResult:
    """What :func:`train` returns: the trained (unwrapped) model, the step count and the log records."""

    model: Any
    steps: int
    checkpoint: Path | None
    history: list[dict[str, Any]] = field(default_factory=list)
    metrics: dict[str, float] = field(default_factory=dict)


def epoch_batches(num_items: int, batch_size: int, epoch: int, seed: int, rank: int = 0, world: int = 1,
                  shuffle: bool = True) -> list[list[int]]:
    """Index batches of one epoch: a (seed, epoch)-seeded permutation, split over ranks like
    ``DistributedSampler`` (padded by wrapping), then cut into full batches (the ragged tail is dropped)."""
    if shuffle:
        order = torch.randperm(num_items, generator=torch.Generator().manual_seed(seed + epoch)).tolist()
    else:
        order = list(range(num_items))
    if world > 1:
        per_rank = math.ceil(num_items / world)
        order = (order * math.ceil(per_rank * world / max(num_items, 1)))[:per_rank * world]
        order = order[rank:per_rank * world:world]
    n = len(order) // batch_size
    return [order[i * batch_size:(i + 1) * batch_size] for i in range(n)]


def _load_items(dataset: Any, indices: Sequence[int]) -> list[dict[str, Any]]:
    return [dataset[i] for i in indices]


def train(config: HVPRConfig, dataset: Any, output_dir: str | Path | None, *, max_iters: int | None = None,
          epochs: int | None = None, batch_size: int | None = None, seed: int = 0, device: str = "cpu",
          resume: str | Path | None = None, val_dataset: Any = None, eval_every: int = 0,
          evaluate_fn: Callable[[Any, Any], dict[str, float]] | None = None, log_every: int = 10,
          ckpt_every: int = 0, quiet: bool | None = None, desc: str = "train", stop_at: int | None = None
          ) -> TrainResult:
    """Train HVPR on ``dataset`` (items as in :mod:`hvpr.engine.batching`) for ``max_iters`` steps or
    ``epochs`` epochs.

    The schedule length is T = max_iters if given, else epochs × (len(dataset) // (batch · world)) (E35).
    ``evaluate_fn(model, val_dataset) -> metrics`` runs every ``eval_every`` steps and at the end (rank 0).
    ``resume`` continues from a checkpoint written by this function (same config, same T). ``stop_at`` ends the
    run early at that step (checkpoint written, schedule unchanged), as an interruption would.
    """
    from hvpr import __version__
    from hvpr.model.detector import HVPR

    log = get_logger("hvpr.train")
    info = dist.init_distributed(device)
    rank, world, main = info.rank, info.world_size, info.is_main
    out = Path(output_dir) if output_dir is not None else None
    ckpt = None
    if resume is not None:
        ckpt = load_checkpoint(resume, package="hvpr", version=__version__)
        saved = from_dict(HVPRConfig, ckpt["config"])
        if config_to_dict(saved) != config_to_dict(config):
            raise CheckpointError(f"{resume} was trained with a different config; resume with the config stored in "
                                  "it (omit --config/--set) or start a new run")
    cfg = config.validate()
    bs = int(batch_size or cfg.optim.batch_size)
    n_epochs = int(epochs or cfg.optim.epochs)
    if len(dataset) < bs * world:
        raise DataError(f"the training set has {len(dataset)} samples, fewer than one batch ({bs} x {world} ranks)")
    per_epoch = len(epoch_batches(len(dataset), bs, 0, seed, rank, world))
    total = int(max_iters) if max_iters else n_epochs * per_epoch
    if total < 2:
        raise ConfigError("training needs at least 2 steps (one-cycle schedule)")

    torch.manual_seed(seed)
    model = HVPR(cfg).to(info.device)
    optimizer = make_optimizer(model.parameters(), cfg.optim.lr, cfg.optim.weight_decay)
    schedule = OneCycleSchedule(cfg.optim.lr, total, cfg.optim.div_factor, cfg.optim.pct_start, cfg.optim.moms)
    start = 0
    if ckpt is not None:
        if int(ckpt["extra"].get("total_steps", -1)) != total or int(ckpt["extra"].get("seed", -1)) != seed:
            raise CheckpointError(f"{resume} belongs to a run of {ckpt['extra'].get('total_steps')} steps with seed "
                                  f"{ckpt['extra'].get('seed')}; this run has {total} steps and seed {seed}")
        restore(ckpt, model=model, optimizer=optimizer, rng=True)
        start = int(ckpt["step"])
    net = dist.wrap_model(model, info)
    logger = MetricsLogger(out / "log.jsonl" if out is not None else None, enabled=main)
    if out is not None and main:
        out.mkdir(parents=True, exist_ok=True)
        save_config(cfg, out / "config.toml")

    def checkpoint(step: int) -> Path | None:
        if out is None or not main:
            return None
        return save_checkpoint(out / CHECKPOINT_NAME, package="hvpr", version=__version__, model=model,
                               optimizer=optimizer, config=cfg, epoch=step // max(per_epoch, 1), step=step,
                               extra={"total_steps": total, "seed": seed, "world_size": world})

    history: list[dict[str, Any]] = []
    metrics: dict[str, float] = {}

    def run_eval(step: int) -> None:
        nonlocal metrics
        if evaluate_fn is None or val_dataset is None:
            return
        if main:
            metrics = evaluate_fn(model, val_dataset)
            history.append(logger.log(step=step, kind="eval", **metrics))
            if out is not None:
                atomic_write_json(out / "metrics.json", {"step": step, **metrics})
        model.train()
        dist.barrier()

    model.train()
    step = start
    last_ckpt: Path | None = None
    bar = iter(progress(range(start, total), total=total - start, desc=desc, quiet=quiet if main else True))
    end = min(total, int(stop_at)) if stop_at else total
    while step < end:
        epoch = step // per_epoch
        batches = epoch_batches(len(dataset), bs, epoch, seed, rank, world)
        if hasattr(dataset, "set_epoch"):
            dataset.set_epoch(epoch)  # augmentation RNG of item i = f(seed, epoch, i)
        for indices in batches[step - epoch * per_epoch:]:
            if step >= end:
                break
            next(bar, None)
            batch = model_batch(model, _load_items(dataset, indices), training=True, seed=step_seed(seed, step))
            res = net(batch)
            optimizer.zero_grad(set_to_none=True)
            res["loss"].backward()
            gnorm = optimizer_step(model.parameters(), optimizer, schedule, step, cfg.optim.grad_clip)
            loss = float(res["loss"].detach())
            if not math.isfinite(loss):
                raise FloatingPointError(f"training diverged at step {step}: loss is {loss}")
            step += 1
            if log_every and (step % log_every == 0 or step == total):
                vals = dist.reduce_dict({"loss": loss, **{k: float(v.detach()) for k, v in res["losses"].items()}})
                rec = logger.log(step=step, kind="train", lr=schedule.lr(step - 1), grad_norm=gnorm, **vals)
                history.append(rec)
                if main and not quiet:
                    log.debug(format_summary(vals, prefix=f"step {step}/{total}"))
            if ckpt_every and step % ckpt_every == 0 and step < total:
                last_ckpt = checkpoint(step)
            if eval_every and step % eval_every == 0 and step < total:
                run_eval(step)
    if world > 1:  # DDP keeps the ranks' weights identical; verify and record it
        sync = dist.parameter_divergence(model)
        history.append(logger.log(step=step, kind="ddp", world_size=world, max_rank_weight_diff=sync))
    last_ckpt = checkpoint(step) or last_ckpt
    if step == total:
        run_eval(step)
    if world > 1:
        metrics = {**metrics, "max_rank_weight_diff": sync}
    dist.barrier()
    return TrainResult(model=model, steps=step, checkpoint=last_ckpt, history=history, metrics=metrics)
