"""The three-stage training schedule with hand-over, checkpoints and resume (spec sections 3, 6).

Stage 1 trains stem + E_R; stage 2 starts from stage 1's encoders and trains E_U, G and D with
the identity parts frozen; stage 3 starts from stage 2's C, G, D (and D's optimiser state) and
trains everything at lr 2e-5. Under ``torchrun`` each rank draws its own P x K batches and the
gradients are averaged across ranks before every optimiser step.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import torch

from cvcore import checkpoint as ckpt_io
from cvcore.distributed import barrier, is_main_process, reduce_dict
from cvcore.errors import CheckpointError
from cvcore.progress import MetricsLogger, format_summary, get_logger, progress
from isgan.losses import ISGANLoss, LossWeights
from isgan.model import ISGAN, ModelConfig
from isgan.steps import adversarial_step, stage1_step

__all__ = ["StageTrainer", "TrainConfig", "build_optimizers", "stage_checkpoint_name"]


@dataclass
class TrainConfig:
    """The recipe of section 6 (Market-1501 / Duke / CUHK03 share it)."""

    model: ModelConfig = field(default_factory=ModelConfig)
    dataset: str = "market1501"
    ids_per_batch: int = 4
    images_per_id: int = 4
    epochs_stage1: int = 300
    epochs_stage2: int = 200
    epochs_stage3: int = 100
    lr: float = 2e-4
    lr_stage3: float = 2e-5
    milestones: list[int] = field(default_factory=lambda: [300])
    gamma: float = 0.1
    weight_decay: float = 5e-4
    d_lr: float = 2e-4
    d_momentum: float = 0.9
    d_weight_decay: float = 1e-4
    honour_lr_mult: bool = False
    official_compat: bool = False
    save_every: int = 50
    steps_per_epoch: int | None = None  # cap (demos, smoke tests); None = the whole sampler
    seed: int = 0


def stage_checkpoint_name(stage: int, epoch: int) -> str:
    """``isgan_stage{S}_{epoch:03d}.pt``, the official naming."""
    return f"isgan_stage{stage}_{epoch:03d}.pt"


def build_optimizers(model: ISGAN, cfg: TrainConfig, stage: int):
    """Adam (amsgrad, wd 5e-4) over encoders + G, SGD (momentum 0.9, wd 1e-4) for D, and one
    MultiStepLR each. Stage 3 starts at ``lr_stage3`` (the official code's decay, defect 6).
    With ``honour_lr_mult`` G and E_U get lr x 0.01 in stage 3 (the official groups' unused key)."""
    lr = cfg.lr_stage3 if stage == 3 else cfg.lr
    enc, gen = model.encoder, model.generator
    if stage == 3 and cfg.honour_lr_mult:
        slow = [p for m in (*enc.unrelated_modules(), gen) for p in m.parameters()]
        slow_ids = {id(p) for p in slow}
        fast = [p for p in enc.parameters() if id(p) not in slow_ids]
        groups = [{"params": fast}, {"params": slow, "lr": lr * 0.01}]
    else:
        groups = [{"params": [*enc.parameters(), *gen.parameters()]}]
    opt = torch.optim.Adam(groups, lr=lr, weight_decay=cfg.weight_decay, amsgrad=True)
    opt_d = torch.optim.SGD(model.discriminator.parameters(), lr=cfg.d_lr, momentum=cfg.d_momentum,
                            weight_decay=cfg.d_weight_decay)
    milestones = [] if stage == 3 else list(cfg.milestones)
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=milestones, gamma=cfg.gamma)
    sched_d = torch.optim.lr_scheduler.MultiStepLR(opt_d, milestones=milestones, gamma=cfg.gamma)
    return opt, opt_d, sched, sched_d


class StageTrainer:
    """Runs one stage (or 1 → 2 → 3) of IS-GAN training.

    Args:
        model: the ISGAN (on ``device``).
        cfg: the recipe.
        loader_for_stage: ``stage -> DataLoader`` of P x K batches ``(x, pid, camid, path)``.
        out_dir: where checkpoints, ``metrics.jsonl`` and the resolved config go.
    """

    def __init__(self, model: ISGAN, cfg: TrainConfig, loader_for_stage, out_dir: str | os.PathLike[str],
                 device: torch.device | str = "cpu", quiet: bool | None = None) -> None:
        self.model, self.cfg, self.loader_for_stage = model, cfg, loader_for_stage
        self.out = Path(out_dir)
        self.device = torch.device(device)
        self.quiet = quiet
        self.loss_fn = ISGANLoss(LossWeights())
        self.log = get_logger("isgan")
        self.metrics = MetricsLogger(self.out / "metrics.jsonl", enabled=is_main_process())
        self.generator = torch.Generator().manual_seed(cfg.seed)

    def epochs(self, stage: int) -> int:
        return {1: self.cfg.epochs_stage1, 2: self.cfg.epochs_stage2, 3: self.cfg.epochs_stage3}[stage]

    # ------------------------------------------------------------ checkpoints
    def _save(self, path: Path, stage: int, epoch: int, opts) -> None:
        if not is_main_process():
            return
        from isgan import __version__

        opt, opt_d, sched, sched_d = opts
        ckpt_io.save_checkpoint(
            path, package="isgan", version=__version__, model=self.model, optimizer=opt, scheduler=sched,
            config=self.cfg, epoch=epoch, step=0,
            extra={"stage": stage, "optimizer_D": opt_d.state_dict(), "scheduler_D": sched_d.state_dict(),
                   "generator_state": self.generator.get_state()},
        )

    def hand_over(self, stage: int, path: str | os.PathLike[str], opts) -> None:
        """Initialise ``stage`` from the previous stage's checkpoint: stage 2 takes the encoders
        only (G and D fresh); stage 3 takes C, G, D and D's optimiser state."""
        from isgan import __version__

        ck = ckpt_io.load_checkpoint(path, package="isgan", version=__version__)
        prev = ck["extra"].get("stage")
        if prev != stage - 1:
            raise CheckpointError(f"{path} is a stage-{prev} checkpoint; stage {stage} starts from stage {stage - 1}")
        state = ck["model"]
        if stage == 2:
            enc = {k[len("encoder."):]: v for k, v in state.items() if k.startswith("encoder.")}
            self.model.encoder.load_state_dict(enc)
        else:
            ckpt_io.restore(ck, model=self.model, rng=False)
            opts[1].load_state_dict(ck["extra"]["optimizer_D"])

    def _resume(self, path: str | os.PathLike[str], stage: int, opts) -> int:
        from isgan import __version__

        ck = ckpt_io.load_checkpoint(path, package="isgan", version=__version__)
        if ck["extra"].get("stage") != stage:
            raise CheckpointError(f"{path} was saved in stage {ck['extra'].get('stage')}, not stage {stage}")
        opt, opt_d, sched, sched_d = opts
        ckpt_io.restore(ck, model=self.model, optimizer=opt, scheduler=sched)
        opt_d.load_state_dict(ck["extra"]["optimizer_D"])
        sched_d.load_state_dict(ck["extra"]["scheduler_D"])
        self.generator.set_state(ck["extra"]["generator_state"])
        return int(ck["epoch"])

    # ------------------------------------------------------------------ loop
    def fit(self, stage: int, *, init_from: str | os.PathLike[str] | None = None,
            resume: str | os.PathLike[str] | None = None) -> Path:
        """Train ``stage``; returns the path of its final checkpoint."""
        cfg = self.cfg
        self.model.set_stage(stage).train()
        opts = build_optimizers(self.model, cfg, stage)
        start = 0
        if resume is not None:
            start = self._resume(resume, stage, opts)
        elif init_from is not None and stage > 1:
            self.hand_over(stage, init_from, opts)
        loader = self.loader_for_stage(stage)
        batch = cfg.ids_per_batch * cfg.images_per_id
        last = self.out / stage_checkpoint_name(stage, self.epochs(stage))
        for epoch in range(start + 1, self.epochs(stage) + 1):
            sampler = getattr(loader, "sampler", None)
            if hasattr(sampler, "set_epoch"):
                sampler.set_epoch(epoch)
            # the official loop steps its MultiStepLR at the start of every epoch, so milestone m
            # decays epoch m itself (stage 1 runs its epoch 300 at 2e-5)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                opts[2].step()
                opts[3].step()
            sums: dict[str, float] = {}
            n = 0
            for i, (x, y, *_rest) in enumerate(progress(loader, desc=f"stage {stage} epoch {epoch}", quiet=self.quiet)):
                if cfg.steps_per_epoch is not None and i >= cfg.steps_per_epoch:
                    break
                if x.shape[0] != batch:  # the official code skips incomplete batches
                    continue
                x, y = x.to(self.device), y.to(self.device)
                if stage == 1:
                    res = stage1_step(self.model, opts[0], x, y)
                else:
                    res = adversarial_step(self.model, opts[0], opts[1], x, y, stage, self.loss_fn,
                                           images_per_id=cfg.images_per_id, ids_per_batch=cfg.ids_per_batch,
                                           generator=self.generator)
                for k, v in res.items():
                    sums[k] = sums.get(k, 0.0) + v
                n += 1
            means = reduce_dict({k: v / max(n, 1) for k, v in sums.items()})
            record = self.metrics.log(stage=stage, epoch=epoch, steps=n, lr=opts[0].param_groups[0]["lr"], **means)
            self.log.info(format_summary({k: record[k] for k in ("loss", "lr") if k in record},
                                         prefix=f"stage {stage} epoch {epoch}/{self.epochs(stage)}"))
            self._save(self.out / "last.pt", stage, epoch, opts)
            if epoch % cfg.save_every == 0 or epoch == self.epochs(stage):
                self._save(self.out / stage_checkpoint_name(stage, epoch), stage, epoch, opts)
        barrier()
        return last

    def fit_all(self, stages: tuple[int, ...] = (1, 2, 3), *, init_from: str | None = None) -> Path:
        """Run stages in order, each starting from the previous one's final checkpoint."""
        prev = init_from
        for s in stages:
            prev = str(self.fit(s, init_from=prev))
        return Path(prev)
