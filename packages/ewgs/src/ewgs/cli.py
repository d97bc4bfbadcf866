"""The ``ewgs`` command: argument parsing and dispatch only (work happens in engine/, demo, export)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from cvcore import cli
from cvcore.cli import nonnegative_float as _nonneg_float
from cvcore.cli import positive_float as _pos_float
from cvcore.cli import positive_int as _pos_int
from ewgs import __version__

__all__ = ["build_parser", "main"]


def _bits(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected bits 1..8 or 32 (full precision), got {text!r}") from None
    if not (1 <= v <= 8 or v == 32):
        hint = " (bits, not levels: 2 levels = 1 bit)" if v in (16, 64, 128, 256) else ""
        raise argparse.ArgumentTypeError(f"expected bits 1..8 or 32 (full precision), got {v}{hint}")
    return v


def _model_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("model and data")
    g.add_argument("--dataset", choices=("cifar10", "cifar100", "imagenet", "fashion-mnist", "synthetic"))
    g.add_argument("--arch", choices=("resnet20", "resnet18", "resnet34", "mobilenet_v2", "mobilenet_v2_tv", "small"),
                   help="mobilenet_v2 = PROFIT's variant (the paper's), mobilenet_v2_tv = torchvision's")
    g.add_argument("--w-bits", type=_bits, metavar="INT|32", help="weight bits (1..8; 32 = full precision)")
    g.add_argument("--a-bits", type=_bits, metavar="INT|32", help="activation bits (1..8; 32 = full precision)")
    g.add_argument("--width", type=_pos_int, help="base width of resnet20/small (16 = paper)")
    g.add_argument("--batch-size", type=_pos_int)
    g.add_argument("--no-skip-first", action="store_true", help="also quantize the first layer")
    g.add_argument("--no-skip-last", action="store_true", help="also quantize the last layer")


def _train_flags(p: argparse.ArgumentParser) -> None:
    _model_flags(p)
    g = p.add_argument_group("training")
    g.add_argument("--epochs", type=_pos_int)
    g.add_argument("--lr", type=_pos_float)
    g.add_argument("--q-lr", type=_pos_float, help="quantizer-parameter learning rate (1e-5)")
    g.add_argument("--optimizer", choices=("adam", "sgd"))
    g.add_argument("--weight-decay", type=_nonneg_float)
    g.add_argument("--pretrained", metavar="PATH", help="full-precision checkpoint to start from")
    g.add_argument("--resume", metavar="PATH", help="continue from a last.pt checkpoint, bit for bit")
    g.add_argument("--backward", choices=("ewgs", "ste"))
    g.add_argument("--delta-w", type=_nonneg_float, help="fixed weight δ (implies --no-hessian)")
    g.add_argument("--delta-a", type=_nonneg_float, help="fixed activation δ (implies --no-hessian)")
    g.add_argument("--no-hessian", action="store_true", help="never update δ")
    g.add_argument("--update-every", type=_pos_int, help="δ update period in epochs (10 CIFAR / 1 ImageNet)")
    g.add_argument("--hessian-batches", type=_pos_int, help="batches per δ update (3 / 10)")
    g.add_argument("--hessian-batch-size", type=_pos_int, help="batch size of the δ pass (train batch / 16)")
    g.add_argument("--max-iter", type=_pos_int, help="Hutchinson samples at most (50)")
    g.add_argument("--joint-probe", action="store_true", help="faster joint Rademacher probes (opt-in)")
    g.add_argument("--compat", choices=("default", "official"))
    g.add_argument("--kernels", choices=("auto", "compiled", "eager"),
                   help="quantizer kernels: compiled single-pass CPU kernels for large activations (auto, "
                        "the default; also EWGS_KERNELS), always, or never; same numbers up to float rounding")


def _explicit(args: argparse.Namespace) -> dict[str, Any]:
    g = lambda name: getattr(args, name, None)  # noqa: E731
    ex: dict[str, Any] = {
        "data.dataset": g("dataset"), "model.arch": g("arch"), "model.w_bits": g("w_bits"),
        "model.a_bits": g("a_bits"), "model.width": g("width"), "data.batch_size": g("batch_size"),
        "optim.epochs": g("epochs"), "optim.lr": g("lr"), "optim.q_lr": g("q_lr"), "optim.optimizer": g("optimizer"),
        "optim.weight_decay": g("weight_decay"), "pretrained": g("pretrained"), "model.backward": g("backward"),
        "model.delta_w": g("delta_w"), "model.delta_a": g("delta_a"), "hessian.update_every": g("update_every"),
        "hessian.num_batches": g("hessian_batches"), "hessian.batch_size": g("hessian_batch_size"),
        "hessian.max_iter": g("max_iter"), "hessian.compat": g("compat"), "seed": g("seed"),
    }
    if g("data_root") is not None:
        ex["data.root"] = str(g("data_root"))
    if g("no_skip_first"):
        ex["model.skip_first"] = False
    if g("no_skip_last"):
        ex["model.skip_last"] = False
    if g("joint_probe"):
        ex["hessian.joint_probe"] = True
    if g("no_hessian") or g("delta_w") is not None or g("delta_a") is not None:
        ex["hessian.enabled"] = False
    return ex


def _base_config(args: argparse.Namespace) -> Any:
    """Recipe defaults by data set (§6): ImageNet uses SGD, δ every epoch on 10 batches of 16."""
    from ewgs.config import TrainConfig

    base = TrainConfig()
    if getattr(args, "dataset", None) == "imagenet" and getattr(args, "config", None) is None:
        base.model.arch = "resnet18"
        base.optim.optimizer, base.optim.lr, base.optim.epochs = "sgd", 1e-2, 100
        base.hessian.update_every, base.hessian.num_batches, base.hessian.batch_size = 1, 10, 16
        base.data.batch_size = 256
    return base


def cmd_train(args: argparse.Namespace) -> int:
    from ewgs.config import TrainConfig
    from ewgs.engine.train import train
    from ewgs.quant.kernels import set_kernels

    if args.kernels is not None:
        set_kernels(args.kernels)
    cfg = cli.resolve_config(TrainConfig, args, base=_base_config(args), explicit=_explicit(args))
    out = args.output_dir or "runs/ewgs"
    result = train(cfg, data_root=args.data_root, output_dir=out, device=args.device, num_workers=args.num_workers,
                   resume=args.resume)
    summary = {k: v for k, v in result.items() if k != "history"}
    last = result["history"][-1] if result["history"] else {}
    if "delta" in last:
        summary["delta"] = last["delta"]
    from cvcore.distributed import cleanup, is_main_process

    if is_main_process():  # one result line under torchrun
        cli.emit(summary, None)
    cleanup()
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from ewgs.evaluation import run_eval

    cli.emit(run_eval(args, _explicit(args), _base_config(args)), args)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from ewgs.export import run_export

    cli.emit(run_export(args, _explicit(args), _base_config(args)), None)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from ewgs.demo import run_demo

    cli.emit(run_demo(args), None)
    return 0


def build_parser() -> cli.Parser:
    parser = cli.make_parser("ewgs", version=__version__,
                             description="EWGS: network quantization with element-wise gradient scaling (CVPR 2021)")
    p = cli.add_command(parser, "train", cmd_train, help="quantization-aware training (FP pretraining with 32 bits)")
    _train_flags(p)
    p = cli.add_command(parser, "eval", cmd_eval, help="top-1/top-5 of a checkpoint on the test split (JSON)")
    _model_flags(p)
    p.add_argument("--official", action="store_true", help="--weights is an official EWGS checkpoint")
    p = cli.add_command(parser, "export", cmd_export,
                        help="torch.export program of the eval model + integer weight codes and scales")
    _model_flags(p)
    p.add_argument("--official", action="store_true", help="--weights is an official EWGS checkpoint")
    p = cli.add_command(parser, "demo", cmd_demo,
                        help="FP vs STE vs EWGS at W2A2 and W1A1 on 28x28 images (no download), table + PNG")
    p.add_argument("--epochs", type=_pos_int, default=None, help="epochs per quantized run")
    p.add_argument("--train-size", type=_pos_int, default=None, help="number of training images")
    p.add_argument("--synthetic", action="store_true", help="force the embedded synthetic data")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run(build_parser(), argv)
