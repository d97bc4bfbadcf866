"""The ``pisr`` command: argument parsing and dispatch only."""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence
from pathlib import Path

from cvcore import cli
from cvcore.cli import nonnegative_float as _pos_float
from cvcore.cli import nonnegative_int as _nonneg_int
from cvcore.cli import positive_int as _pos_int
from cvcore.errors import ConfigError, DataError, UserError
from pisr import __version__

EVAL_HELP = (
    "benchmark PSNR/SSIM on Y: SR output quantised to 1/255 steps, border crop of s pixels "
    "(--crop to change), HR cropped to s x the LR size, LR from LR_bicubic/X<s> or made with the "
    "MATLAB-compatible bicubic resize; metrics as JSON on stdout and in --output-dir/metrics.json"
)


def _scale(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer scale, got {text!r}") from None
    if v < 2:
        raise argparse.ArgumentTypeError(f"scale must be >= 2, got {v}")
    return v


def _warn_scale(scale: int) -> None:
    if scale not in (2, 3, 4):
        from cvcore.progress import get_logger

        get_logger("pisr").warning("x%d was not evaluated by the authors (only x2, x3, x4)", scale)


# ----------------------------------------------------------------------------------------- train
def _train(args: argparse.Namespace) -> int:
    import dataclasses

    from pisr.config import TrainConfig

    stage = args.stage
    explicit = {
        "scale": args.scale, "epochs": args.epochs, "iters_per_epoch": args.iters_per_epoch,
        "batch_size": args.batch_size, "patch_size": args.patch_size, "lr": args.lr, "lr_min": args.lr_min,
        "d": args.d, "s": args.s, "m": args.m, "seed": args.seed, "num_workers": args.num_workers or None,
        "device": args.device if args.device != "auto" else None,
        "hr_dir": args.hr_dir, "lr_dir": args.lr_dir, "data_root": args.data_root, "resume": args.resume,
        "out_dir": args.output_dir,
    }
    if stage == "teacher":
        explicit["lambda_imit"] = args.lambda_imit
    if stage == "student":
        explicit.update({"lambda_distill": args.lambda_distill, "pdf": args.pdf, "variance_mode": args.variance_mode,
                         "distill_layers": tuple(args.distill_layer) if args.distill_layer else None,
                         "init_from_teacher": False if args.no_init_from_teacher else None})
    try:
        cfg = cli.resolve_config(TrainConfig, args, explicit=explicit)
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    _warn_scale(cfg.scale)
    if cfg.out_dir is None:
        cfg = dataclasses.replace(cfg, out_dir=f"runs/{stage}_x{cfg.scale}")
    train_data, val_data = _train_data(cfg, args)
    from pisr import engine
    from pisr.weights import load_model, save_fsrcnn

    if stage == "teacher":
        model = engine.train_teacher(cfg, train_data, val_data)
    elif stage == "baseline":
        model = engine.train_baseline(cfg, train_data, val_data)
    else:
        from pisr.models import PISRTeacher

        if args.teacher is None:
            raise UserError("train-student needs --teacher CKPT (the last.pt of train-teacher)")
        teacher = load_model(args.teacher, scale=cfg.scale)
        if not isinstance(teacher, PISRTeacher):
            raise UserError(f"{args.teacher} is not a teacher checkpoint")
        if teacher.scale != cfg.scale:
            raise UserError(f"the teacher is x{teacher.scale} but --scale is {cfg.scale}")
        model = engine.distill(teacher, cfg, train_data, val_data)
    out = Path(cfg.out_dir)
    result = {k: v for k, v in model.train_summary.items() if k != "history"}
    result["checkpoint"] = str(out / "last.pt")
    if stage != "teacher":
        result["weights"] = str(save_fsrcnn(out / "model.pt", model, config=cfg))
    cli.emit(result, args, name="train_summary.json")
    return 0


def _train_data(cfg, args):
    from pisr.data import ImageFolderPairs, PairedPatches, div2k_train, div2k_val

    n_items = cfg.batch_size * cfg.iters_per_epoch
    if cfg.hr_dir:
        ds = PairedPatches(cfg.hr_dir, cfg.lr_dir, scale=cfg.scale, patch_size=cfg.patch_size)
        ds.repeat = max(1, math.ceil(n_items / len(ds.pairs)))
        val = ImageFolderPairs(args.val_hr_dir, args.val_lr_dir, scale=cfg.scale) if args.val_hr_dir else None
        return ds, val
    if cfg.data_root:
        ds = div2k_train(cfg.data_root, cfg.scale, cfg.patch_size)
        ds.repeat = max(1, math.ceil(n_items / len(ds.pairs)))
        try:
            val = div2k_val(cfg.data_root, cfg.scale)
        except DataError:
            val = None
        return ds, val
    raise DataError("no training data: pass --hr-dir DIR (LR made with bicubic if --lr-dir is absent) or "
                    "--data-root ROOT with ROOT/DIV2K/DIV2K_train_HR/0001.png and "
                    f"ROOT/DIV2K/DIV2K_train_LR_bicubic/X{cfg.scale}/0001x{cfg.scale}.png")


def _add_train(parser: cli.Parser, name: str, stage: str | None, help: str, aliases: Sequence[str] = ()) -> None:
    p = cli.add_command(parser, name, _train, help=help, aliases=aliases)
    if stage is None:
        p.add_argument("--stage", choices=("teacher", "student", "baseline"), required=True)
    else:
        p.set_defaults(stage=stage)
    g = p.add_argument_group("training")
    g.add_argument("--scale", type=_scale, default=None, help="upscaling factor (2, 3, 4)")
    g.add_argument("--hr-dir", type=Path, default=None, help="folder of HR training images (instead of DIV2K)")
    g.add_argument("--lr-dir", type=Path, default=None, help="matching LR images <name>x<s>.png (else bicubic)")
    g.add_argument("--val-hr-dir", type=Path, default=None, help="HR validation images (with --hr-dir)")
    g.add_argument("--val-lr-dir", type=Path, default=None)
    g.add_argument("--epochs", type=_pos_int, default=None)
    g.add_argument("--iters-per-epoch", type=_pos_int, default=None)
    g.add_argument("--batch-size", type=_pos_int, default=None)
    g.add_argument("--patch-size", type=_pos_int, default=None, help="HR patch side (192)")
    g.add_argument("--lr", type=_pos_float, default=None)
    g.add_argument("--lr-min", type=_pos_float, default=None)
    g.add_argument("--d", type=_pos_int, default=None)
    g.add_argument("--s", type=_pos_int, default=None)
    g.add_argument("--m", type=_pos_int, default=None)
    g.add_argument("--resume", type=Path, default=None, help="continue from a last.pt of the same stage")
    if stage in (None, "teacher"):
        g.add_argument("--lambda-imit", type=_pos_float, default=None, help="imitation weight (1e-4)")
    if stage in (None, "student"):
        g.add_argument("--teacher", type=Path, default=None, help="teacher checkpoint (required)")
        g.add_argument("--lambda-distill", type=_pos_float, default=None, help="distillation weight (1e-6)")
        g.add_argument("--pdf", choices=("laplace", "gaussian"), default=None)
        g.add_argument("--variance-mode", choices=("none", "channel", "spatial", "global"), default=None)
        g.add_argument("--distill-layer", action="append", default=None)
        g.add_argument("--no-init-from-teacher", action="store_true")
    p.set_defaults(lambda_imit=None, teacher=None, lambda_distill=None, pdf=None, variance_mode=None,
                   distill_layer=None, no_init_from_teacher=False)


# ------------------------------------------------------------------------------------------ eval
def _eval(args: argparse.Namespace) -> int:
    from pisr.data import BENCHMARK_SETS, ImageFolderPairs, benchmark_folder
    from pisr.metrics import evaluate
    from pisr.weights import load_fsrcnn

    model = None if args.bicubic else load_fsrcnn(args.weights, scale=args.scale)
    scale = args.scale or (model.scale if model is not None else 2)
    datasets = {}
    if args.hr_dir is not None:
        datasets[Path(args.hr_dir).name] = ImageFolderPairs(args.hr_dir, args.lr_dir, scale=scale)
    else:
        if args.data_root is None:
            raise DataError("pass --hr-dir DIR or --data-root ROOT with ROOT/benchmark/<Set>/HR and LR_bicubic/X<s>")
        names = [n for n in args.sets.split(",") if n]
        for n in names:
            if n not in BENCHMARK_SETS:
                raise UserError(f"unknown set {n!r}: choose from {','.join(BENCHMARK_SETS)}")
            datasets[n] = benchmark_folder(args.data_root, n, scale)
    res = evaluate(model, datasets, scale, crop=args.crop)
    if args.save_images:
        _save_eval_images(model, datasets, scale, Path(args.output_dir or "eval_images"))
    out = {"scale": scale, "model": "bicubic" if model is None else str(args.weights or "default"),
           "crop": scale if args.crop is None else args.crop,
           "sets": {k: {"psnr": round(v["psnr"], 4), "ssim": round(v["ssim"], 6), "n": v["n"],
                        "per_image": v["per_image"]} for k, v in res.items()}}
    cli.emit(out, args)
    return 0


def _save_eval_images(model, datasets, scale, folder: Path) -> None:
    import numpy as np

    from cvcore.data import write_image
    from pisr.data import imresize
    from pisr.inference import super_resolve_y

    for set_name, ds in datasets.items():
        for i in range(len(ds)):
            lr, _, name = ds[i]
            sr = imresize(lr[0].double().numpy(), float(scale)) if model is None else super_resolve_y(model, lr[0])
            write_image(folder / set_name / f"{name}_x{scale}_Y.png",
                        np.clip(np.round(sr * 255), 0, 255).astype(np.uint8))


# --------------------------------------------------------------------------------------- upscale
def _upscale(args: argparse.Namespace) -> int:
    from cvcore.data import list_images, read_image, write_image
    from pisr.inference import upscale
    from pisr.weights import load_fsrcnn

    src = args.input_pos or args.input
    if src is None:
        raise UserError("give an input image or folder (pisr upscale photo.png -o big.png)")
    src = Path(src)
    if not src.exists():
        raise DataError(f"input not found: {src}")
    files = list_images(src) if src.is_dir() else [src]
    if src.is_dir() and not files:
        raise DataError(f"no images in {src}")
    images = [(f, read_image(f)) for f in files]  # read (and validate) everything before writing anything
    model = load_fsrcnn(args.weights, scale=args.scale)
    if args.output is None:
        dest = [f.with_name(f"{f.stem}_x{model.scale}.png") for f in files]
    elif src.is_dir():
        dest = [Path(args.output) / f"{f.stem}_x{model.scale}.png" for f in files]
    else:
        dest = [Path(args.output)]
    written = []
    for (_f, img), d in zip(images, dest):
        out = upscale(img, model, tile=args.tile or None)
        written.append(str(write_image(d, out)))
    cli.emit({"scale": model.scale, "outputs": written}, None)
    return 0


# ---------------------------------------------------------------------------------------- export
def _export(args: argparse.Namespace) -> int:
    import torch

    from pisr.weights import load_fsrcnn

    model = load_fsrcnn(args.weights, scale=args.scale)
    out = Path(args.output or f"fsrcnn_x{model.scale}.{'pt2' if args.format == 'export' else 'pt' if args.format == 'torchscript' else 'onnx'}")
    example = torch.rand(1, 1, 32, 32)
    from cvcore.io import atomic_write_with

    if args.format == "torchscript":
        scripted = torch.jit.trace(model, example)
        atomic_write_with(out, lambda f: torch.jit.save(scripted, f))
    elif args.format == "export":
        h, w = torch.export.Dim("h", min=2, max=8192), torch.export.Dim("w", min=2, max=8192)
        prog = torch.export.export(model, (example,), dynamic_shapes={"x": {2: h, 3: w}})
        atomic_write_with(out, lambda f: torch.export.save(prog, f))
    else:
        try:
            import onnx  # noqa: F401
        except ImportError:
            raise UserError("--format onnx needs the onnx package (pip install onnx)") from None
        import io

        buf = io.BytesIO()
        torch.onnx.export(model, example, buf, input_names=["lr_y"], output_names=["sr_y"],
                          dynamic_axes={"lr_y": {2: "h", 3: "w"}, "sr_y": {2: "H", 3: "W"}})
        atomic_write_with(out, lambda f: f.write(buf.getvalue()))
    cli.emit({"format": args.format, "output": str(out), "scale": model.scale}, None)
    return 0


# ------------------------------------------------------------------------------------------ demo
def _first_existing(path: Path) -> Path:
    """``path`` or its nearest existing ancestor."""
    p = path.absolute()
    while not p.exists() and p != p.parent:
        p = p.parent
    return p


def _check_writable_dir(path: Path, flag: str) -> None:
    """``path`` is a folder, or can be created as one (its nearest existing ancestor is a writable folder)."""
    import os

    if path.exists() and not path.is_dir():
        raise UserError(f"{flag} {path} exists and is not a folder")
    anc = _first_existing(path)
    if not anc.is_dir():
        raise UserError(f"{flag} {path} cannot be created: {anc} is not a folder")
    if not os.access(anc, os.W_OK | os.X_OK):
        raise UserError(f"{flag} {path}: {anc} is not writable")


def _validate_demo(args: argparse.Namespace) -> None:
    """Every demo flag checked before anything is trained or written (bad input leaves no files behind)."""
    if args.no_baseline and args.baseline_iters is not None:
        raise UserError("--baseline-iters and --no-baseline contradict each other")
    if args.teacher_iters == 0 and args.no_baseline and args.no_shipped:
        raise UserError("nothing to compare: --teacher-iters 0 skips the PISR student, --no-baseline the FSRCNN "
                        "and --no-shipped the shipped weights")
    if args.save_weights is not None:
        if args.save_model == "student" and args.teacher_iters == 0:
            raise UserError("--save-weights --save-model student needs a teacher: --teacher-iters must be > 0")
        if args.save_model == "baseline" and args.no_baseline:
            raise UserError("--save-weights --save-model baseline cannot be combined with --no-baseline")
        w = Path(args.save_weights)
        if w.is_dir():
            raise UserError(f"--save-weights {w} is a folder; give a file name such as {w / 'fsrcnn.pt'}")
        _check_writable_dir(w.parent, "--save-weights")
    if args.output_dir is not None:
        _check_writable_dir(Path(args.output_dir), "--output-dir")
    if args.data_root is not None:
        root = Path(args.data_root)
        for sub in ("train", "eval"):
            if not (root / sub).is_dir():
                raise DataError(f"--data-root {root} needs {root / sub}/ (a folder of images); "
                                "expected <root>/train/*.png and <root>/eval/*.png")


def _demo(args: argparse.Namespace) -> int:
    import shutil

    _validate_demo(args)
    out_dir = Path(args.output_dir or "pisr_demo")
    created = not out_dir.exists()  # only a folder made by this run is removed again on failure
    try:
        return _run_demo(args, out_dir)
    except BaseException:
        if created and out_dir.is_dir():
            shutil.rmtree(out_dir, ignore_errors=True)
        raise


def _run_demo(args: argparse.Namespace, out_dir: Path) -> int:
    import torch

    from cvcore.progress import get_logger
    from cvcore.viz import save_png, side_by_side
    from pisr.demo import PhotoRecipe, comparison_crop, run_photo_training
    from pisr.metrics import evaluate
    from pisr.weights import default_weights_path, load_fsrcnn, save_fsrcnn

    if args.threads is None:
        torch.set_num_threads(1)  # small convolutions on a shared 2-core box: 1 thread is faster
    _warn_scale(args.scale)
    log = get_logger("pisr").info
    recipe = PhotoRecipe(scale=args.scale, teacher_iters=args.teacher_iters, student_iters=args.iters,
                         baseline_iters=0 if args.no_baseline else (args.baseline_iters or args.iters),
                         seed=0 if args.seed is None else args.seed)
    res = run_photo_training(recipe, data_root=args.data_root, log=log,
                             out_dir=(out_dir / "checkpoints") if args.save_checkpoints else None)
    models = {}
    if "fsrcnn_baseline" in res["models"]:
        models["FSRCNN"] = res["models"]["fsrcnn_baseline"]
    if "pisr_student" in res["models"]:
        models["PISR student"] = res["models"]["pisr_student"].to_fsrcnn()
    metrics = res["metrics"]
    if not args.no_shipped:
        try:
            shipped = load_fsrcnn(default_weights_path(args.scale), scale=args.scale)
            metrics["shipped_default"] = evaluate(shipped, {"e": res["eval"]}, args.scale)["e"]
            models["shipped"] = shipped
        except UserError:
            pass
    tiles, labels = comparison_crop(res["eval"], models, args.scale)
    canvas = side_by_side(tiles, labels)
    result = {"scale": args.scale, "recipe": {k: v for k, v in vars(recipe).items()}, "cpu_seconds": res["seconds"],
              "psnr_y": {k: round(v["psnr"], 3) for k, v in metrics.items()},
              "ssim_y": {k: round(v["ssim"], 4) for k, v in metrics.items()},
              "per_image_psnr": {k: {n: round(p, 3) for n, p in v["per_image"].items()} for k, v in metrics.items()},
              "picture": str(out_dir / f"demo_x{args.scale}.png")}
    if args.save_weights is not None:
        key = "pisr_student" if args.save_model == "student" else "fsrcnn_baseline"
        extra = {"recipe": result["recipe"], "tiny_eval_psnr_y": result["psnr_y"],
                 "per_image_psnr": result["per_image_psnr"], "trained_as": args.save_model}
        result["saved_weights"] = str(save_fsrcnn(args.save_weights, res["models"][key], extra=extra))
    save_png(out_dir / f"demo_x{args.scale}.png", canvas)
    for row, v in result["psnr_y"].items():
        log(f"x{args.scale} {row:16s} PSNR(Y) {v:.2f} dB  SSIM(Y) {result['ssim_y'][row]:.4f}")
    args.output_dir = out_dir  # demo.json beside the picture
    cli.emit(result, args, name="demo.json")
    return 0


def build_parser() -> cli.Parser:
    parser = cli.make_parser("pisr", version=__version__, description="PISR: learning with privileged information for efficient image super-resolution (ECCV 2020) in PyTorch")
    _add_train(parser, "train-teacher", "teacher", "step 1: train the teacher (encoder sees HR) with (E4)")
    _add_train(parser, "train-student", "student", "step 2: distil a student FSRCNN from a teacher (E7)")
    _add_train(parser, "train-baseline", "baseline", "train a plain FSRCNN with L1 only (fair baseline)")
    _add_train(parser, "train", None, "any training stage, chosen with --stage")

    p = cli.add_command(parser, "eval", _eval, help=EVAL_HELP)
    p.add_argument("--scale", type=_scale, default=None, help="default: the scale of --weights (2 for bicubic)")
    p.add_argument("--sets", default="Set5,Set14,B100,Urban100", help="comma-separated benchmark sets under --data-root")
    p.add_argument("--hr-dir", type=Path, default=None, help="score a folder of HR images instead (LR by bicubic)")
    p.add_argument("--lr-dir", type=Path, default=None)
    p.add_argument("--crop", type=int, default=None, help="border crop (default: the scale)")
    p.add_argument("--save-images", action="store_true", help="write SR Y images to --output-dir")
    p.add_argument("--bicubic", action="store_true", help="score bicubic upsampling instead of a network")

    p = cli.add_command(parser, "upscale", _upscale, aliases=("predict",),
                        help="super-resolve RGB images (Y by the network, Cb/Cr bicubic)")
    p.add_argument("input_pos", nargs="?", type=Path, metavar="INPUT", help="image file or folder")
    p.add_argument("--input", type=Path, default=None, help="same as INPUT")
    p.add_argument("-o", "--output", type=Path, default=None, help="output file (or folder for a folder input)")
    p.add_argument("--scale", type=_scale, default=None,
                   help="2, 3 or 4: picks the shipped weights (default 2), must match --weights")
    p.add_argument("--tile", type=_nonneg_int, default=256,
                   help="LR tile side (default 256: memory bounded on large images, output unchanged); 0 = whole image")

    p = cli.add_command(parser, "export", _export, help="export the plain FSRCNN (heads dropped) for deployment")
    p.add_argument("--format", choices=("export", "torchscript", "onnx"), default="export",
                   help="torch.export program (.pt2, default), TorchScript or ONNX")
    p.add_argument("--output", type=Path, default=None)
    p.add_argument("--scale", type=_scale, default=None, help="shipped weights of this scale when --weights is absent")

    p = cli.add_command(parser, "demo", _demo, help="train teacher, student and FSRCNN briefly on scikit-image photos")
    p.add_argument("--scale", type=_scale, default=2)
    p.add_argument("--iters", type=_pos_int, default=300, help="student (and baseline) iterations")
    p.add_argument("--teacher-iters", type=_nonneg_int, default=100, help="0 skips teacher and student")
    p.add_argument("--baseline-iters", type=_pos_int, default=None)
    p.add_argument("--no-baseline", action="store_true", help="skip the plain FSRCNN")
    p.add_argument("--no-shipped", action="store_true", help="do not score the shipped default weights")
    p.add_argument("--save-weights", type=Path, default=None, help="write a trained network as deployable weights")
    p.add_argument("--save-model", choices=("student", "baseline"), default="student",
                   help="which network --save-weights writes (PISR student or plain FSRCNN)")
    p.add_argument("--save-checkpoints", action="store_true", help="keep per-stage checkpoints in --output-dir")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run(build_parser(), argv)
