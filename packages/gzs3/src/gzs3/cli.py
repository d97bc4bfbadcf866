"""The ``gzs3`` command: argument parsing and dispatch only (work happens in engine/ and demo.py)."""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence
from pathlib import Path

from cvcore import cli
from gzs3 import __version__

CALIBRATIONS = ("apollonius", "none", "stacking")


def _sigma(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(v) or v <= 0:
        raise argparse.ArgumentTypeError(f"sigma must be a finite number > 0, got {text}")
    return v


def _finite(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(v):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text}")
    return v


def _positive(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {v}")
    return v


def _sweep(text: str) -> tuple[float, float, float]:
    parts = text.split(":")
    try:
        a, b, s = (float(x) for x in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected START:STOP:STEP, e.g. 0.3:1.0:0.05, got {text!r}") from None
    if not (0 < a <= b and s > 0 and all(map(math.isfinite, (a, b, s)))):
        raise argparse.ArgumentTypeError(f"sigma sweep needs 0 < START <= STOP and STEP > 0, got {text!r}")
    return a, b, s


def _train(args: argparse.Namespace) -> int:
    from gzs3.commands import run_train

    return run_train(args)


def _eval(args: argparse.Namespace) -> int:
    from gzs3.commands import run_eval

    return run_eval(args)


def _predict(args: argparse.Namespace) -> int:
    from gzs3.commands import run_predict

    return run_predict(args)


def _export(args: argparse.Namespace) -> int:
    from gzs3.commands import run_export

    return run_export(args)


def _embed(args: argparse.Namespace) -> int:
    from gzs3.commands import run_embed_classes

    return run_embed_classes(args)


def _convert_context(args: argparse.Namespace) -> int:
    from gzs3.commands import run_convert_context

    return run_convert_context(args)


def _demo(args: argparse.Namespace) -> int:
    from gzs3.demo import run_demo

    return run_demo(args)


def _decision_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("decision rule")
    g.add_argument("--calibration", choices=CALIBRATIONS, default=None, help="apollonius (E13), stacking (E15) or none (E12)")
    g.add_argument("--sigma", type=_sigma, default=None, help="Apollonius ratio on squared distances (default 0.5)")
    g.add_argument("--gamma", type=_finite, default=None, help="calibrated-stacking shift of seen distances")
    g.add_argument("--ac-mode", choices=("top2", "full"), default=None, help="official top-2 rule or full argmin")


def build_parser() -> cli.Parser:
    parser = cli.make_parser("gzs3", version=__version__, description="JoEm: exploiting a joint embedding space for generalized zero-shot semantic segmentation (ICCV 2021) in PyTorch")

    t = cli.add_command(parser, "train", _train, help="train the visual and semantic encoders on seen classes")
    t.add_argument("--preset", metavar="NAME",
                   help="shipped recipe: voc_deeplabv3plus_zs3, context_deeplabv3plus_zs3, voc_deeplabv2_spnet, synthetic_tiny")
    t.add_argument("--setting", choices=("zs3", "spnet"), help="ZS3 setting or SPNet setting (VOC, 5 unseen)")
    t.add_argument("--dataset", choices=("voc", "context", "synthetic"))
    t.add_argument("--n-unseen", type=int)
    t.add_argument("--split-protocol", choices=("joem", "zs3"))
    t.add_argument("--embeddings", type=Path, metavar="PATH", help="class-embedding table (.pkl/.npy/.pt)")
    t.add_argument("--sbd-root", type=Path, metavar="DIR",
                   help="raw SBD benchmark_RELEASE (dataset/cls/*.mat) for train_aug labels instead of SegmentationClassAug")
    t.add_argument("--arch", choices=("deeplabv3plus", "deeplabv2"),
                   help="visual encoder: DeepLabV3+ (ZS3 setting) or DeepLab-V2 ResNet-101 OS 8, 600-d (SPNet setting)")
    t.add_argument("--backbone", choices=("resnet101", "resnet50", "tiny"))
    t.add_argument("--backbone-weights", type=Path, metavar="PATH", help="ImageNet ResNet state dict (torchvision keys)")
    t.add_argument("--epochs", type=_positive)
    t.add_argument("--batch-size", type=_positive, help="global batch size")
    t.add_argument("--crop", type=_positive)
    t.add_argument("--lr", type=_sigma)
    t.add_argument("--gen-lr", type=_sigma)
    t.add_argument("--weight-decay", type=_finite)
    t.add_argument("--ratio", type=_sigma, help="BAR ratio r (1 = center loss)")
    t.add_argument("--temperature", type=_sigma)
    t.add_argument("--alpha", type=_finite, help="weight of L_sc")
    t.add_argument("--sc-reduction", choices=("rows", "rows_sq"))
    t.add_argument("--resume", type=Path, metavar="CKPT", help="continue from output-dir/last.pt of an interrupted run")
    t.add_argument("--no-eval", action="store_true", help="skip the evaluation after the last epoch")
    t.add_argument("--amp", action="store_true",
                   help="mixed precision: autocast bfloat16 on CPU, float16 with gradient scaling on CUDA")

    e = cli.add_command(parser, "eval", _eval, help="score a checkpoint on the validation split (seen/unseen/harmonic mIoU)")
    e.add_argument("--checkpoint", type=Path, metavar="CKPT", help="same as --weights")
    e.add_argument("--official", type=Path, nargs=2, metavar=("FE", "GEN"), help="the authors' fe_/gen_checkpoint pair")
    e.add_argument("--dataset", choices=("voc", "context", "synthetic"))
    e.add_argument("--n-unseen", type=int)
    e.add_argument("--setting", choices=("zs3", "spnet"), help="with --official: the setting the checkpoint was trained in")
    e.add_argument("--split-protocol", choices=("joem", "zs3"))
    e.add_argument("--embeddings", type=Path, metavar="PATH")
    _decision_flags(e)
    e.add_argument("--sigma-sweep", type=_sweep, metavar="A:B:STEP", help="also score Apollonius for each sigma")
    e.add_argument("--nan-mode", choices=("zero", "skip"), default=None, help="0/0 IoUs count 0 (official) or are skipped")
    e.add_argument("--save-pred", type=Path, metavar="DIR", help="write predicted label PNGs")
    e.add_argument("--max-images", type=_positive, help="score only the first N images")

    p = cli.add_command(parser, "predict", _predict, help="segment images with the trained classes or any class list")
    p.add_argument("images", nargs="+", type=Path, metavar="IMAGE")
    p.add_argument("--checkpoint", type=Path, metavar="CKPT", help="same as --weights")
    p.add_argument("--classes", metavar="NAMES", help='comma-separated class names, e.g. "background,cat,dog,zebra"')
    p.add_argument("--word-vectors", type=Path, metavar="FILE",
                   help="word2vec binary (.bin) / text, or torch {word: vector} file for --classes")
    p.add_argument("--phrases", action="store_true", help="use a phrase vector (potted_plant) when the file has one")
    p.add_argument("--embeddings", type=Path, metavar="PATH", help="table with one row per --classes name")
    _decision_flags(p)

    x = cli.add_command(parser, "export", _export, help="write a torch.export program: image -> label map")
    x.add_argument("--checkpoint", type=Path, metavar="CKPT", help="same as --weights")
    x.add_argument("--height", type=_positive, default=512)
    x.add_argument("--width", type=_positive, default=512)
    _decision_flags(x)

    c = cli.add_command(parser, "embed-classes", _embed, help="build a class-embedding table from word vectors")
    c.add_argument("--word-vectors", type=Path, required=True, metavar="FILE",
                   help="word2vec binary (GoogleNews .bin) or text, torch {word: vector} file, or .npy matrix with --vocab")
    c.add_argument("--phrases", action="store_true",
                   help="use a phrase vector (GoogleNews potted_plant) when present instead of the mean of the words")
    c.add_argument("--vocab", type=Path, metavar="FILE", help="one word per line (rows of a .npy matrix)")
    c.add_argument("--names", type=Path, required=True, metavar="FILE", help="one class name per line")
    c.add_argument("--out", type=Path, required=True, metavar="TABLE.npy")
    c.add_argument("--normalize", choices=("max", "l2", "none"), default="max", help="E1 max-norm scaling by default")

    k = cli.add_command(parser, "convert-context", _convert_context,
                        help="build 59_labels.pth from the raw PASCAL Context release (trainval/*.mat, labels.txt)")
    k.add_argument("--trainval", type=Path, required=True, metavar="DIR", help="folder of <stem>.mat files with LabelMap")
    k.add_argument("--labels", type=Path, required=True, metavar="FILE", help="the 459-class labels.txt ('<id>: <name>')")
    k.add_argument("--out", type=Path, required=True, metavar="FILE", help="output dict, e.g. context/59_labels.pth")

    d = cli.add_command(parser, "demo", _demo, help="train on synthetic scenes and show zero-shot segmentation (no data needed)")
    d.add_argument("--epochs", type=_positive, default=None, help="training epochs (default 14)")
    d.add_argument("--images", type=_positive, default=None, help="training images (default 96)")
    d.add_argument("--quick", action="store_true", help="a tiny run for smoke tests (seconds, meaningless numbers)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run(build_parser(), argv)
