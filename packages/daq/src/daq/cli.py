"""The ``daq`` command: argument parsing and dispatch only (``train | eval | export | demo``)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cvcore import cli
from daq import __version__

DATASETS = ("cifar10", "imagenet", "fashion-mnist", "synthetic")
ARCHS = ("resnet20", "resnet18", "resnet34", "mobilenet_v2", "small_net")


def _bits(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a bit-width 1..8 or 32 (full precision), got {text!r}") from None
    if not (1 <= v <= 8 or v == 32):
        raise argparse.ArgumentTypeError(f"expected a bit-width 1..8 or 32 (full precision), got {v}")
    return v


def _positive(kind: type):
    def parse(text: str):
        try:
            v = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a {kind.__name__}, got {text!r}") from None
        if not v > 0:
            raise argparse.ArgumentTypeError(f"expected a value > 0, got {text}")
        return v

    return parse


def _nonneg_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not v >= 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text}")
    return v


def _model_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("data and model")
    g.add_argument("--dataset", choices=DATASETS, default=None, help="data set (default: cifar10)")
    g.add_argument("--arch", choices=ARCHS, default=None, help="network (default: resnet20)")
    g.add_argument("--w-bits", type=_bits, default=None, metavar="INT|32", help="weight bits (32 = FP)")
    g.add_argument("--a-bits", type=_bits, default=None, metavar="INT|32", help="activation bits (32 = FP)")
    g.add_argument("--batch-size", type=_positive(int), default=None)
    for name in ("gamma-w", "sigma-w", "gamma-a", "sigma-a"):
        g.add_argument(f"--{name}", type=_positive(float), default=None, help="DASR constant (paper: 2, 1, 2, 2)")
    g.add_argument("--no-skip-first", action="store_true", help="quantize the first layer too (torchvision models)")
    g.add_argument("--no-skip-last", action="store_true", help="quantize the last layer too (torchvision models)")
    g.add_argument("--compat", choices=("default", "official"), default=None,
                   help="official: the authors' soft numerics (tensor-wide softmax max)")


def _explicit(args: argparse.Namespace) -> dict[str, Any]:
    e = {
        "data.dataset": args.dataset, "model.arch": args.arch, "model.w_bits": args.w_bits,
        "model.a_bits": args.a_bits, "data.batch_size": args.batch_size, "model.gamma_w": args.gamma_w,
        "model.sigma_w": args.sigma_w, "model.gamma_a": args.gamma_a, "model.sigma_a": args.sigma_a,
        "model.compat": args.compat, "seed": args.seed,
        "data.root": str(args.data_root) if args.data_root else None, "device": args.device,
    }
    if args.no_skip_first:
        e["model.skip_first"] = False
    if args.no_skip_last:
        e["model.skip_last"] = False
    for flag, key in (("epochs", "optim.epochs"), ("lr", "optim.lr"), ("q_lr", "optim.q_lr"),
                      ("weight_decay", "optim.weight_decay")):
        if hasattr(args, flag):
            e[key] = getattr(args, flag)
    if getattr(args, "pretrained", None):
        e["pretrained"] = str(args.pretrained)
    return e


def _config(args: argparse.Namespace, base: Any = None):
    from daq.config import TrainConfig

    cfg = cli.resolve_config(TrainConfig, args, base=base, explicit=_explicit(args))
    if cfg.data.dataset == "fashion-mnist" and args.arch is None and cfg.model.arch == "resnet20" and base is None:
        from cvcore.config import apply_overrides

        cfg = apply_overrides(cfg, ["model.arch=small_net"])
    return cfg


def _log(args: argparse.Namespace):
    from cvcore.progress import get_logger

    logger = get_logger("daq", verbose=bool(args.verbose))
    return None if args.quiet else logger.info


def cmd_train(args: argparse.Namespace) -> int:
    from daq.engine.train import train

    if args.resume is not None and not Path(args.resume).is_file():
        from cvcore.errors import CheckpointError

        raise CheckpointError(f"--resume checkpoint not found: {args.resume}")
    cfg = _config(args)
    out = args.output_dir or Path("runs") / "daq"
    result = train(cfg, out, resume=args.resume, num_workers=args.num_workers, log=_log(args))
    summary = {k: v for k, v in result.items() if k != "epochs"}
    summary["output_dir"] = str(out)
    from cvcore.distributed import is_main_process

    if is_main_process():  # under torchrun only rank 0 prints the result
        cli.emit(summary)
    return 0


def _model_from_weights(args: argparse.Namespace):
    """(model, cfg) from --weights: a daq checkpoint (its saved config) or an official file."""
    from cvcore.checkpoint import load_checkpoint
    from cvcore.config import from_dict
    from cvcore.errors import CheckpointError, UserError
    from daq.config import TrainConfig
    from daq.data import build_datasets  # noqa: F401  (import check)
    from daq.engine.train import build_model, load_weights

    if args.weights is None:
        raise UserError("--weights PATH is required (a daq checkpoint or an official DAQ .pth file)")
    try:
        ckpt = load_checkpoint(args.weights, package="daq", version=__version__)
    except CheckpointError as exc:
        if "not a cvcore checkpoint" not in str(exc):
            raise
        from daq.checkpoint import load_official_checkpoint

        res = load_official_checkpoint(args.weights)
        cfg = _config(args)
        return res["model"], cfg
    cfg = _config(args, base=from_dict(TrainConfig, ckpt["config"]) if ckpt.get("config") else None)
    in_ch = 1 if cfg.data.dataset == "fashion-mnist" else 3
    model = build_model(cfg.model, in_ch)
    load_weights(model, args.weights)
    return model, cfg


def cmd_eval(args: argparse.Namespace) -> int:
    from torch.utils.data import DataLoader

    from cvcore.distributed import resolve_device
    from daq.data import build_datasets
    from daq.engine.evaluate import evaluate

    model, cfg = _model_from_weights(args)
    _, test, _ = build_datasets(cfg.data, need_train=False)
    device = resolve_device(cfg.device)
    loader = DataLoader(test, batch_size=cfg.data.eval_batch_size, shuffle=False, num_workers=args.num_workers)
    metrics = evaluate(model.to(device), loader, device)
    metrics.update({"weights": str(args.weights), "dataset": cfg.data.dataset, "arch": cfg.model.arch})
    cli.emit(metrics, args)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    import torch

    from daq.export import export_model

    model, cfg = _model_from_weights(args)
    if cfg.data.dataset == "fashion-mnist":
        shape = (1, 1, 28, 28)
    elif cfg.data.dataset == "imagenet":
        shape = (1, 3, 224, 224)
    else:
        shape = (1, 3, cfg.data.image_size if cfg.data.dataset == "synthetic" else 32,
                 cfg.data.image_size if cfg.data.dataset == "synthetic" else 32)
    out = args.output_dir or Path("daq-export")
    paths = export_model(model.cpu(), torch.zeros(shape), out)
    cli.emit({"program": str(paths["program"]), "codes": str(paths["codes"]), "input_shape": list(shape)})
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from cvcore.config import apply_overrides
    from daq.demo import DemoConfig, run_demo

    cfg = apply_overrides(DemoConfig(), args.set)
    if args.seed is not None:
        cfg = apply_overrides(cfg, [f"seed={args.seed}"])
    if args.steps is not None:
        cfg = apply_overrides(cfg, [f"fp_steps={args.steps}", f"q_steps={args.steps}"])
    out = args.output_dir or Path("daq-demo")
    result = run_demo(cfg, out, log=_log(args))
    acc = result["top1"]
    print(f"{'model':<16} top-1 (%)", file=sys.stderr)
    for k, v in acc.items():
        print(f"{k:<16} {v:6.1f}", file=sys.stderr)
    cli.emit(result, args, name="demo.json")
    return 0


def build_parser() -> cli.Parser:
    parser = cli.make_parser("daq", version=__version__,
                             description="DAQ: distance-aware quantization (Kim, Lee, Ham, ICCV 2021) in PyTorch")
    t = cli.add_command(parser, "train", cmd_train, help="train a DAQ network (official CIFAR-10 recipe by default)")
    _model_flags(t)
    g = t.add_argument_group("training")
    g.add_argument("--epochs", type=_positive(int), default=None)
    g.add_argument("--lr", type=_positive(float), default=None, help="SGD lr of network weights (default 0.1)")
    g.add_argument("--q-lr", type=_positive(float), default=None, help="Adam lr of bounds/scales (default 1e-4)")
    g.add_argument("--weight-decay", type=_nonneg_float, default=None)
    g.add_argument("--pretrained", type=Path, default=None, metavar="PATH",
                   help="full-precision start (official cifar10_fp.pth accepted)")
    g.add_argument("--resume", type=Path, default=None, metavar="PATH", help="continue from last.pt bit for bit")
    e = cli.add_command(parser, "eval", cmd_eval, help="evaluate --weights on the test split (metrics JSON)")
    _model_flags(e)
    x = cli.add_command(parser, "export", cmd_export,
                        help="write a torch.export program and per-layer integer codes of --weights")
    _model_flags(x)
    d = cli.add_command(parser, "demo", cmd_demo,
                        help="FP vs DAQ W2A2 vs STE W2A2 on an embedded synthetic set (~2 min, no download)")
    d.add_argument("--steps", type=_positive(int), default=None, help="SGD steps per stage (default 300)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run(build_parser(), argv)
