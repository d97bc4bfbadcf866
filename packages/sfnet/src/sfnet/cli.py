"""The ``sfnet`` command: argument parsing and dispatch only."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from cvcore import cli
from cvcore.cli import positive_float as _positive_float
from cvcore.cli import positive_int as _pos_int
from cvcore.errors import ConfigError, DataError, UserError
from sfnet import __version__

BENCHMARKS = ("pf-pascal", "pf-willow", "tss", "caltech")


def _threads(args: argparse.Namespace, default: int = 1) -> None:
    """Small CPU workloads run faster on one intra-op thread on 2-core machines (CONVENTIONS 9)."""
    import torch

    torch.set_num_threads(args.threads or default)


def _device(args: argparse.Namespace):
    from cvcore.distributed import resolve_device

    return resolve_device(args.device)


# -- train -------------------------------------------------------------------------------------------

def cmd_train(args: argparse.Namespace) -> int:
    from sfnet.config import TrainConfig
    from sfnet.engine.train import fit

    explicit = {"optim.epochs": args.epochs, "optim.batch_size": args.batch_size, "optim.lr": args.lr,
                "model.backbone": args.backbone, "model.pretrained": args.backbone_weights,
                "loss.smoothness": args.smoothness, "seed": args.seed, "num_workers": args.num_workers or None,
                "device": None if args.device == "auto" else args.device,
                "data.synthetic_demo": True if args.synthetic_demo else None,
                "data.val_root": str(args.val_root) if args.val_root else None}
    base = TrainConfig()
    if args.synthetic_demo:  # CPU-sized defaults; --config / --set / flags still override them
        base.model.backbone, base.model.pretrained, base.model.feature_size = "tiny", "none", (10, 10)
        base.optim.batch_size, base.optim.lr, base.optim.epochs = 4, 1e-3, 10
    cfg = cli.resolve_config(TrainConfig, args, base=base, explicit=explicit)
    if args.threads or cfg.model.backbone == "tiny":
        _threads(args)
    out = args.output_dir or Path("runs/sfnet")
    result = fit(cfg, out, data_root=args.data_root, resume=args.resume, version=__version__, verbose=bool(args.verbose))
    result.pop("config", None)
    if result.pop("rank", 0) == 0:  # under torchrun only rank 0 reports
        cli.emit(result, args, name="train_summary.json")
    return 0


# -- eval --------------------------------------------------------------------------------------------

def _dataset(args: argparse.Namespace, feature_size):
    from sfnet.data import TSS, Caltech101, PFPascal, PFWillow

    if args.data_root is None:
        raise DataError(f"--data-root is required: the {args.benchmark} folder (see 'sfnet eval --help')")
    if args.benchmark == "pf-pascal":
        return PFPascal(args.data_root, split=args.split, eval_type=args.eval_type or "image_size",
                        feature_size=feature_size)
    if args.benchmark == "pf-willow":
        return PFWillow(args.data_root, eval_type=args.eval_type or "bounding_box", feature_size=feature_size)
    if args.benchmark == "caltech":
        return Caltech101(args.data_root, polygons=args.polygons, feature_size=feature_size)
    return TSS(args.data_root, feature_size=feature_size)


def cmd_eval(args: argparse.Namespace) -> int:
    from sfnet.engine.evaluate import evaluate
    from sfnet.engine.inference import load_model

    _threads(args, 2)
    device = _device(args)
    if args.alpha is not None and not 0 < args.alpha <= 1:
        raise ConfigError(f"--alpha must be in (0, 1], got {args.alpha}")
    model = load_model(args.weights, version=__version__, backbone=args.backbone or "resnet101",
                       backbone_weights=args.backbone_weights or "none", device=device)
    ds = _dataset(args, model.feature_size)
    res = evaluate(model, ds, alpha=args.alpha, device=device)
    res.pop("per_pair", None)
    res["benchmark"] = args.benchmark
    cli.emit(res, args)
    return 0


# -- match -------------------------------------------------------------------------------------------

def _read_keypoints(path: Path):
    import numpy as np

    if not path.is_file():
        raise DataError(f"keypoint file not found: {path}")
    try:
        rows = [ln.replace(";", ",").split(",") for ln in path.read_text().splitlines() if ln.strip()]
        if rows and not rows[0][0].strip().lstrip("-").replace(".", "", 1).isdigit():
            rows = rows[1:]
        pts = np.array([[float(r[0]), float(r[1])] for r in rows], np.float64)
    except (ValueError, IndexError) as exc:
        raise DataError(f"{path}: expected one 'x,y' pair of pixel coordinates per line") from exc
    if pts.size == 0 or not np.isfinite(pts).all():
        raise DataError(f"{path}: no keypoints, or non-finite values")
    return pts.T  # 2 x K


def cmd_match(args: argparse.Namespace) -> int:
    import numpy as np
    import torch

    from cvcore.data import read_image
    from cvcore.io import atomic_write_text, atomic_write_with
    from cvcore.viz import save_png
    from sfnet.data.transforms import prepare_eval_image, to_float_image
    from sfnet.engine.inference import load_model
    from sfnet.evaluation_paths import padded_grid_to_image
    from sfnet.keypoint_transfer import transfer_keypoints
    from sfnet.visualize import draw_keypoints, flow_picture, warp_image

    _threads(args, 2)
    device = _device(args)
    src, tgt = read_image(args.source), read_image(args.target)
    pts = _read_keypoints(args.keypoints) if args.keypoints else None
    model = load_model(args.weights, version=__version__, backbone=args.backbone or "resnet101",
                       backbone_weights=args.backbone_weights or "none", device=device)
    fs = model.feature_size
    with torch.no_grad():
        out = model(prepare_eval_image(src, fs)[None].to(device), prepare_eval_image(tgt, fs)[None].to(device))
    g_t2s, g_s2t = out.grid_t2s[0].float().cpu(), out.grid_s2t[0].float().cpu()
    stem = args.output.with_suffix("")
    warped = warp_image(to_float_image(src), padded_grid_to_image(g_t2s), size=tgt.shape[:2])
    save_png(args.output, flow_picture(padded_grid_to_image(g_t2s), tgt.shape[:2]))
    written = {"flow": str(args.output)}
    written["warped_source"] = str(save_png(Path(f"{stem}_warped.png"), warped))
    atomic_write_with(Path(f"{stem}.npz"), lambda f: np.savez(f, grid_t2s=g_t2s.numpy(), grid_s2t=g_s2t.numpy()))
    written["grids"] = f"{stem}.npz"
    if pts is not None:
        est = transfer_keypoints(g_s2t, torch.from_numpy(pts).float(), src_size=tgt.shape[:2], tgt_size=src.shape[:2],
                                 feature_size=fs).numpy()
        lines = ["source_x,source_y,target_x,target_y"] + [
            f"{pts[0, k]:.2f},{pts[1, k]:.2f},{est[0, k]:.2f},{est[1, k]:.2f}" for k in range(pts.shape[1])]
        written["keypoints"] = str(atomic_write_text(Path(f"{stem}_keypoints.csv"), "\n".join(lines) + "\n"))
        from cvcore.viz import side_by_side

        pic = side_by_side([draw_keypoints(src, pts), draw_keypoints(tgt, est)], ["source", "target (transferred)"])
        written["keypoints_png"] = str(save_png(Path(f"{stem}_keypoints.png"), pic))
    cli.emit({"source": str(args.source), "target": str(args.target), "written": written}, args, name="match.json")
    return 0


# -- demo / export / data ----------------------------------------------------------------------------

def cmd_demo(args: argparse.Namespace) -> int:
    from sfnet.demo import run_demo

    _threads(args)
    if args.epochs < 0 or args.images < 2:
        raise ConfigError("--epochs must be >= 0 and --images >= 2")
    res = run_demo(args.output_dir or Path("sfnet-demo"), epochs=args.epochs, n_images=args.images,
                   seed=args.seed if args.seed is not None else 0, size=args.size, checkpoint=args.weights,
                   verbose=bool(args.verbose))
    cli.emit(res, args, name="demo_metrics.json")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    import torch

    from cvcore.io import atomic_write_with
    from sfnet.engine.inference import load_model
    from sfnet.models.sfnet import SFNetInference

    _threads(args, 2)
    model = load_model(args.weights, version=__version__, backbone=args.backbone or "resnet101",
                       backbone_weights=args.backbone_weights or "none")
    h, w = (args.size, args.size) if args.size else model.input_size
    if h % 32 or w % 32:
        raise ConfigError(f"--size must be a multiple of 32, got {h}")
    # two distinct example tensors: passing one object twice lets export alias src and tgt
    program = torch.export.export(SFNetInference(model).eval(), (torch.randn(1, 3, h, w), torch.randn(1, 3, h, w)))
    path = atomic_write_with(args.output, lambda f: torch.export.save(program, f))
    cli.emit({"exported": str(path), "input_size": [h, w], "outputs": ["grid_s2t", "grid_t2s"]}, args,
             name="export.json")
    return 0


def cmd_data(args: argparse.Namespace) -> int:
    from sfnet.data.training_arrays import prepare_voc

    if args.action != "prepare-voc":  # pragma: no cover - argparse restricts the choices
        raise UserError(f"unknown data action {args.action}")
    ip, mp, n = prepare_voc(args.voc_root, args.out_dir or Path("data/training_data"), exclude_csv=args.exclude_csv)
    cli.emit({"images": str(ip), "masks": str(mp), "count": n}, args, name="prepare_voc.json")
    return 0


def _model_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--backbone", choices=("resnet101", "tiny"), default=None,
                   help="backbone (for the official adaptation-only checkpoint; sfnet checkpoints know theirs)")
    p.add_argument("--backbone-weights", default=None, metavar="{none,imagenet,PATH}",
                   help="backbone weights: none, imagenet (torchvision download) or a resnet101 state dict")


def _user_errors(func):
    """Bad values found deep inside (shapes, NaN, unknown choices) are user errors: one line, exit 1."""
    import functools

    @functools.wraps(func)
    def wrapper(args: argparse.Namespace) -> int:
        try:
            return func(args)
        except (ValueError, FloatingPointError) as exc:
            if isinstance(exc, UserError):
                raise
            raise UserError(str(exc)) from exc

    return wrapper


def build_parser() -> cli.Parser:
    parser = cli.make_parser("sfnet", version=__version__,
                             description="SFNet: learning object-aware semantic correspondence (CVPR 2019) in PyTorch")
    p = cli.add_command(parser, "train", _user_errors(cmd_train), help="train the adaptation layers on synthetic affine pairs")
    p.add_argument("--epochs", type=_pos_int, default=None)
    p.add_argument("--batch-size", type=_pos_int, default=None)
    p.add_argument("--lr", type=_positive_float, default=None)
    p.add_argument("--smoothness", choices=("official", "per_component"), default=None, help="smoothness form (E10)")
    p.add_argument("--synthetic-demo", action="store_true", help="train on scikit-image composites (no VOC needed)")
    p.add_argument("--val-root", type=Path, default=None, help="PF-PASCAL root for per-epoch validation")
    p.add_argument("--resume", type=Path, default=None, metavar="LAST_PT", help="continue from last.pt")
    _model_flags(p)

    p = cli.add_command(parser, "eval", _user_errors(cmd_eval),
                        help="PCK on PF-PASCAL, PF-WILLOW or TSS, LT-ACC/IoU/LOC-ERR on Caltech-101; metrics as JSON")
    p.add_argument("--benchmark", "--dataset", dest="benchmark", choices=BENCHMARKS, required=True)
    p.add_argument("--split", choices=("val", "test"), default="test", help="PF-PASCAL split")
    p.add_argument("--eval-type", choices=("image_size", "bounding_box"), default=None,
                   help="PCK length (default: image_size for PF-PASCAL, bounding_box for PF-WILLOW)")
    p.add_argument("--alpha", type=float, default=None, help="PCK threshold (0.1; TSS 0.05; unused for caltech)")
    p.add_argument("--polygons", choices=("csv", "annotations"), default="csv",
                   help="caltech: object polygons from the pair CSV or from Annotations/*/annotation_*.mat")
    _model_flags(p)

    p = cli.add_command(parser, "match", _user_errors(cmd_match), help="dense correspondence between two images",
                        aliases=("predict",))
    p.add_argument("source", type=Path, help="source image")
    p.add_argument("target", type=Path, help="target image")
    p.add_argument("-o", "--output", type=Path, default=Path("flow.png"),
                   help="flow picture; <stem>_warped.png, <stem>.npz (and keypoint files) are written beside it")
    p.add_argument("--keypoints", type=Path, default=None,
                   help="CSV of 'x,y' pixel points in the SOURCE image, transferred to the target")
    _model_flags(p)

    p = cli.add_command(parser, "demo", _user_errors(cmd_demo), help="train briefly on scikit-image photos and report PCK")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--images", type=int, default=24, help="training composites")
    p.add_argument("--size", type=int, default=160, choices=(96, 128, 160, 192, 224, 256, 320))

    p = cli.add_command(parser, "export", _user_errors(cmd_export), help="write a torch.export program of the inference model")
    p.add_argument("-o", "--output", type=Path, default=Path("sfnet.pt2"))
    p.add_argument("--size", type=int, default=None, help="square input size (default 16 x feature size)")
    _model_flags(p)

    p = cli.add_command(parser, "data", _user_errors(cmd_data), help="prepare-voc: build the official training arrays")
    p.add_argument("action", choices=("prepare-voc",))
    p.add_argument("--voc-root", type=Path, required=True, help="VOCdevkit/VOC2012")
    p.add_argument("--exclude-csv", type=Path, default=None, help="pairs CSV whose images are left out")
    p.add_argument("--out-dir", type=Path, default=None, help="default data/training_data")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run(build_parser(), argv)
