"""What the ``isgan`` sub-commands do (the parsing is in :mod:`isgan.cli`)."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import torch

from cvcore import cli
from cvcore.distributed import parameter_divergence
from cvcore.errors import DataError, UserError
from isgan.model import ISGAN, ModelConfig
from isgan.trainer import StageTrainer, TrainConfig

__all__ = ["evaluate_cmd", "export_cmd", "extract_cmd", "generate_cmd", "identity_swap", "load_model", "shuffle_grid",
           "train"]


def load_model(path: Path | None, *, official: bool = False) -> tuple[ISGAN, ModelConfig]:
    """A model from one of our checkpoints (architecture from its saved config) or, with
    ``official``, from an authors' ``model_C``/``model_G``/``model_D`` file (ResNet-50, 384x128)."""
    from cvcore.checkpoint import load_checkpoint, restore
    from cvcore.config import from_dict
    from isgan import __version__
    from isgan.official import load_official_checkpoint

    if path is None:
        raise UserError("--weights CHECKPOINT is required")
    if official:
        model = load_official_checkpoint(path, strict=False)
        return model, model.config
    ck = load_checkpoint(path, package="isgan", version=__version__)
    cfg = from_dict(TrainConfig, ck["config"] or {})
    model = ISGAN.from_config(cfg.model, official_compat=cfg.official_compat)
    restore(ck, model=model, rng=False)
    return model.eval(), cfg.model


def _dataset(args: argparse.Namespace, out_dir: Path | None = None) -> Any:
    from isgan.data import load_dataset

    name = args.dataset or "market1501"
    if name == "synthetic":
        root = args.data_root or ((out_dir or Path(".")) / "synthetic-data")
        from cvcore.distributed import barrier, is_main_process

        if is_main_process() and not (Path(root) / "Market-1501-v15.09.15").is_dir():
            from cvcore.reid import make_market_like_dataset

            make_market_like_dataset(root, num_train_ids=12, num_test_ids=10, seed=args.seed or 0)
        barrier()  # under torchrun the other ranks read what rank 0 wrote
        return load_dataset("market1501", root)
    return load_dataset(name, args.data_root)


def train(args: argparse.Namespace) -> int:
    from cvcore.config import save_config
    from cvcore.distributed import cleanup, get_rank, init_distributed
    from cvcore.seed import seed_everything
    from isgan.data import train_loader

    cfg = cli.resolve_config(TrainConfig, args, explicit={
        "model.height": args.height, "model.width": args.width, "model.backbone": args.backbone,
        "epochs_stage1": args.epochs_stage1, "epochs_stage2": args.epochs_stage2,
        "epochs_stage3": args.epochs_stage3, "steps_per_epoch": args.steps_per_epoch,
        "seed": args.seed, "dataset": args.dataset,
        "official_compat": True if args.official_compat else None,
        "honour_lr_mult": True if args.honour_lr_mult else None,
    })
    if args.output_dir is None:
        raise UserError("--output-dir is required for train (checkpoints go there)")
    out = Path(args.output_dir)
    info = init_distributed(args.device)
    seed_everything(cfg.seed)
    dataset = _dataset(argparse.Namespace(**{**vars(args), "dataset": cfg.dataset}), out)
    if cfg.model.num_classes != dataset.num_train_pids:
        cfg = dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, num_classes=dataset.num_train_pids))
    pretrained: bool | str = {"none": False, "imagenet": True}.get(args.pretrained_backbone, args.pretrained_backbone)
    # every rank builds the same initial weights (same seed); afterwards each rank draws its own
    # augmentation, noise and dropout
    model = ISGAN.from_config(cfg.model, pretrained_backbone=pretrained, official_compat=cfg.official_compat)
    model.to(info.device)
    seed_everything(cfg.seed + get_rank())
    if info.is_main:
        save_config(cfg, out / "config.toml")

    def loader(stage: int):
        return train_loader(dataset, height=cfg.model.height, width=cfg.model.width, stage=stage,
                            ids_per_batch=cfg.ids_per_batch, images_per_id=cfg.images_per_id,
                            seed=cfg.seed + 1000 * get_rank() + stage, num_workers=args.num_workers)

    trainer = StageTrainer(model, cfg, loader, out, device=info.device, quiet=args.quiet or None)
    try:
        if args.stage == "all":
            if args.resume is not None:
                raise UserError("--resume continues one stage: give --stage too")
            final = trainer.fit_all(init_from=str(args.init_from) if args.init_from else None)
        else:
            stage = int(args.stage)
            if stage > 1 and args.init_from is None and args.resume is None:
                raise UserError(f"stage {stage} starts from the stage-{stage - 1} checkpoint: pass --init-from")
            final = trainer.fit(stage, init_from=args.init_from, resume=args.resume)
        report = {"checkpoint": str(final), "stage": args.stage, "num_classes": cfg.model.num_classes,
                  "world_size": info.world_size}
        if info.world_size > 1:
            report["ddp_max_param_diff"] = parameter_divergence(model)
    finally:
        cleanup()
    if info.is_main:
        cli.emit(report, args, name="train.json")
    return 0


def evaluate_cmd(args: argparse.Namespace) -> int:
    from isgan.evaluate import evaluate

    model, mcfg = load_model(args.weights, official=args.official)
    dataset = _dataset(args, args.output_dir)
    res = evaluate(model, dataset, height=mcfg.height, width=mcfg.width, flip=not args.no_flip,
                   rerank=args.rerank, num_workers=args.num_workers)
    dist = res.pop("distmat")
    if args.visrank:
        from cvcore.reid import visualize_ranked_results

        if args.output_dir is None:
            raise UserError("--visrank needs --output-dir")
        visualize_ranked_results(dist, dataset.query, dataset.gallery, Path(args.output_dir) / "visrank",
                                 max_queries=args.visrank)
    cli.emit(res, args)
    return 0


def _image_records(folder: Path) -> list[Any]:
    from cvcore.data import list_images
    from cvcore.reid import ImageRecord

    paths = list_images(folder)
    if not paths:
        raise DataError(f"no images in {folder}")
    return [ImageRecord(str(p), -1, -1) for p in paths]


def extract_cmd(args: argparse.Namespace) -> int:
    from cvcore.io import atomic_write_with
    from isgan.evaluate import extract

    model, mcfg = load_model(args.weights, official=args.official)
    if args.images is not None:
        records = _image_records(args.images)
    else:
        ds = _dataset(args, args.output_dir)
        records = getattr(ds, args.split)
    feats, pids, cams, paths = extract(model, records, height=mcfg.height, width=mcfg.width)
    arrays: dict[str, Any] = {"features": feats.numpy(), "pids": pids, "camids": cams, "paths": np.array(paths)}
    if args.with_unrelated:
        from isgan.data import test_loader

        chunks = []
        with torch.no_grad():
            for x, *_ in test_loader(records, height=mcfg.height, width=mcfg.width):
                chunks.append(model.encoder(x).nid_feat)
        arrays["unrelated"] = torch.cat(chunks).numpy()
    atomic_write_with(args.out, lambda f: np.savez(f, **arrays))
    cli.emit({"out": str(args.out), "num_images": len(paths), "dim": int(feats.shape[1])}, args)
    return 0


def _load_image(path: Path, height: int, width: int) -> torch.Tensor:
    from PIL import Image

    from cvcore.data import read_image
    from cvcore.reid import build_test_transform

    return build_test_transform(height, width, interpolation="bicubic")(Image.fromarray(read_image(path)))[None]


@torch.no_grad()
def identity_swap(model: ISGAN, a: torch.Tensor, b: torch.Tensor, parts: list[int] | None = None,
                  seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``G(A)``, ``G(φ_R(B), φ_U(A))`` and ``G(parts of φ_R(B) in φ_R(A), φ_U(A))`` for ``(N, 3, H, W)``
    images ``a``, ``b`` (eval mode, one seeded noise draw shared by the three), in ``tanh`` space.

    The generator's label goes with the identity code: the identity the encoder predicts
    (summed part logits) for A in ``G(A)`` and the part mix, for B in the full identity swap."""
    from isgan.shuffle import mix_parts

    model.eval()
    ea, eb = model.encoder(a), model.encoder(b)
    label_a = torch.stack(ea.logits).sum(0).argmax(1)
    label_b = torch.stack(eb.logits).sum(0).argmax(1)
    noise = torch.randn(a.shape[0], model.generator.noise_dim, generator=torch.Generator().manual_seed(seed))
    g = model.generator
    mask = torch.zeros(8, dtype=torch.bool)
    mask[parts if parts is not None else list(range(8))] = True
    return (g(ea.id_feat, ea.nid_feat, label_a, noise), g(eb.id_feat, ea.nid_feat, label_b, noise),
            g(mix_parts(ea.id_feat, eb.id_feat, mask, model.config.feat_id), ea.nid_feat, label_a, noise))


def shuffle_grid(model: ISGAN, a: torch.Tensor, b: torch.Tensor, parts: list[int] | None = None,
                 seed: int = 0) -> np.ndarray:
    """``[A, B, G(A), G(φ_R(B), φ_U(A)), G(mixed parts)]`` (see :func:`identity_swap`) as one
    uint8 image row, for single images ``a``, ``b`` of shape ``(1, 3, H, W)``."""
    from cvcore.viz import side_by_side
    from isgan.reconstruction import to_display

    fakes = identity_swap(model, a, b, parts, seed)
    tiles = [to_display(torch.tanh(a[0])), to_display(torch.tanh(b[0]))] + [to_display(f[0]) for f in fakes]
    names = ["A", "B", "G(A)", "id B + rest A", f"parts {','.join(map(str, parts))} of B" if parts else "all parts B"]
    return side_by_side(tiles, names)


def generate_cmd(args: argparse.Namespace) -> int:
    from cvcore.viz import save_png

    model, mcfg = load_model(args.weights, official=args.official)
    parts = None
    if args.parts:
        try:
            parts = sorted({int(p) for p in args.parts.split(",")})
        except ValueError:
            raise UserError(f"--parts must be comma-separated integers 0-7, got {args.parts!r}") from None
        if any(p < 0 or p > 7 for p in parts) or not parts:
            raise UserError(f"--parts must be integers in 0..7, got {args.parts!r}")
    a = _load_image(args.image, mcfg.height, mcfg.width)
    b = _load_image(args.identity_from, mcfg.height, mcfg.width)
    grid = shuffle_grid(model, a, b, parts, seed=args.seed or 0)
    save_png(args.out, grid)
    cli.emit({"out": str(args.out)}, args)
    return 0


def export_cmd(args: argparse.Namespace) -> int:
    from cvcore.io import atomic_write_with

    model, mcfg = load_model(args.weights, official=args.official)
    example = torch.randn(2, 3, mcfg.height, mcfg.width)
    program = torch.export.export(model.eval(), (example,))
    atomic_write_with(args.out, lambda f: torch.export.save(program, f))
    cli.emit({"out": str(args.out), "input": [None, 3, mcfg.height, mcfg.width],
              "output_dim": 8 * mcfg.feat_id}, args)
    return 0
