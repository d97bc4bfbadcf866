"""``ewgs eval``: load a checkpoint (ours or official) and report top-1/top-5 on the test split."""

from __future__ import annotations

import argparse
from typing import Any

from torch import nn

from cvcore import cli
from cvcore.checkpoint import load_checkpoint, restore
from cvcore.config import from_dict
from cvcore.errors import UserError
from ewgs.config import TrainConfig

__all__ = ["dataset_meta", "load_model", "run_eval"]

_META = {"cifar10": (10, 3, 32), "cifar100": (100, 3, 32), "fashion-mnist": (10, 1, 28)}


def dataset_meta(cfg: TrainConfig, state: dict[str, Any] | None = None) -> tuple[int, int, int]:
    """``(num_classes, in_channels, image_size)`` of the configured data set, without reading it."""
    if cfg.data.dataset in _META:
        return _META[cfg.data.dataset]
    if cfg.data.dataset == "synthetic":
        return 10, 1, cfg.data.image_size or 28
    classes = 1000
    if state is not None:
        heads = [v for k, v in state.items() if k.endswith("weight") and v.ndim == 2]
        if heads:
            classes = int(heads[-1].shape[0])
    return classes, 3, cfg.data.image_size or 224


def load_model(args: argparse.Namespace, explicit: dict[str, Any], base: TrainConfig) -> tuple[nn.Module, TrainConfig]:
    """The model of ``--weights`` in eval mode, and its configuration."""
    from ewgs import __version__
    from ewgs.checkpoint import load_official_checkpoint, read_checkpoint_file
    from ewgs.engine.train import build_model

    if args.weights is None:
        raise UserError("--weights PATH is required")
    if getattr(args, "official", False):
        cfg = cli.resolve_config(TrainConfig, args, base=base, explicit=explicit)
        raw = read_checkpoint_file(args.weights)
        sd = raw.get("state_dict", raw.get("model", raw)) if isinstance(raw, dict) else {}
        k, ch, _ = dataset_meta(cfg, {kk.removeprefix("module."): v for kk, v in sd.items()} if sd else None)
        model = build_model(cfg.model, k, ch)
        load_official_checkpoint(args.weights, model)
    else:
        ckpt = load_checkpoint(args.weights, package="ewgs", version=__version__)
        cfg = from_dict(TrainConfig, ckpt["config"]) if ckpt.get("config") else base
        cfg = cli.resolve_config(TrainConfig, argparse.Namespace(config=None, set=getattr(args, "set", [])), base=cfg,
                                 explicit={k: v for k, v in explicit.items() if k.startswith("data.")})
        k, ch, _ = dataset_meta(cfg, ckpt["model"])
        model = build_model(cfg.model, k, ch)
        restore(ckpt, model=model, rng=False)
    return model.eval(), cfg


def run_eval(args: argparse.Namespace, explicit: dict[str, Any], base: TrainConfig) -> dict[str, Any]:
    """Metrics ``{"top1", "top5", "loss", "n", "dataset", "arch", "w_bits", "a_bits"}``."""
    from cvcore.distributed import resolve_device
    from ewgs.data.registry import build_datasets
    from ewgs.engine.evaluate import evaluate
    from ewgs.engine.train import make_loader

    model, cfg = load_model(args, explicit, base)
    dev = resolve_device(args.device)
    pair = build_datasets(cfg.data.dataset, args.data_root or (cfg.data.root or None), test_subset=cfg.data.test_subset,
                          synthetic_size=cfg.data.synthetic_size, image_size=cfg.data.image_size)
    loader = make_loader(pair.test, cfg.data.test_batch_size, shuffle=False, num_workers=args.num_workers)
    res = evaluate(model.to(dev), loader, dev)
    return {**res, "dataset": cfg.data.dataset, "arch": cfg.model.arch, "w_bits": cfg.model.w_bits,
            "a_bits": cfg.model.a_bits}
