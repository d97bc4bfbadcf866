"""The ``isgan`` command: argument parsing and dispatch only."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from cvcore import cli
from isgan import __version__

DATASET_CHOICES = ("market1501", "dukemtmc", "cuhk03-labeled", "cuhk03-detected", "synthetic")


def _train(args: argparse.Namespace) -> int:
    from isgan.commands import train

    return train(args)


def _eval(args: argparse.Namespace) -> int:
    from isgan.commands import evaluate_cmd

    return evaluate_cmd(args)


def _extract(args: argparse.Namespace) -> int:
    from isgan.commands import extract_cmd

    return extract_cmd(args)


def _generate(args: argparse.Namespace) -> int:
    from isgan.commands import generate_cmd

    return generate_cmd(args)


def _demo(args: argparse.Namespace) -> int:
    from isgan.demo import run_demo

    return run_demo(args)


def _export(args: argparse.Namespace) -> int:
    from isgan.commands import export_cmd

    return export_cmd(args)


def _data_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dataset", choices=DATASET_CHOICES, default=None, help="data set (Market-style layouts)")


def build_parser() -> cli.Parser:
    parser = cli.make_parser("isgan", version=__version__,
                             description="IS-GAN: disentangled person re-identification (NeurIPS 2019)")
    t = cli.add_command(parser, "train", _train, help="train one stage (1, 2, 3) or all three in order")
    t.add_argument("--stage", choices=("1", "2", "3", "all"), default="all")
    _data_flags(t)
    t.add_argument("--height", type=int, default=None)
    t.add_argument("--width", type=int, default=None)
    t.add_argument("--backbone", choices=("resnet50", "resnet18", "tiny"), default=None)
    t.add_argument("--pretrained-backbone", default="none", metavar="{none,imagenet,PATH}",
                   help="ImageNet weights for the ResNet (imagenet downloads them; PATH reads a state dict)")
    t.add_argument("--epochs-stage1", type=int, default=None)
    t.add_argument("--epochs-stage2", type=int, default=None)
    t.add_argument("--epochs-stage3", type=int, default=None)
    t.add_argument("--steps-per-epoch", type=int, default=None, help="cap the iterations per epoch")
    t.add_argument("--init-from", type=Path, default=None, help="previous stage's checkpoint (hand-over)")
    t.add_argument("--resume", type=Path, default=None, help="continue an interrupted stage from its last.pt")
    t.add_argument("--official-compat", action="store_true", help="reproduce the official code's defects 2-4")
    t.add_argument("--honour-lr-mult", action="store_true", help="stage 3: lr x 0.01 for G and E_U")

    e = cli.add_command(parser, "eval", _eval, help="mAP and CMC of a checkpoint on query x gallery")
    _data_flags(e)
    e.add_argument("--official", action="store_true", help="--weights is an official model_C/G/D file")
    e.add_argument("--no-flip", action="store_true", help="no horizontal-flip feature averaging")
    e.add_argument("--rerank", action="store_true", help="k-reciprocal re-ranking")
    e.add_argument("--visrank", type=int, default=0, metavar="N", help="write ranked-result PNGs for N queries")

    x = cli.add_command(parser, "extract", _extract, help="identity descriptors of images", aliases=["predict"])
    x.add_argument("--images", type=Path, default=None, help="a folder of images")
    _data_flags(x)
    x.add_argument("--split", choices=("train", "query", "gallery"), default="query")
    x.add_argument("--out", type=Path, required=True, help="output .npz (features, paths[, unrelated])")
    x.add_argument("--with-unrelated", action="store_true", help="also store φ_U (the mean code)")
    x.add_argument("--official", action="store_true")

    g = cli.add_command(parser, "generate", _generate, help="swap identity parts between two images, write a grid")
    g.add_argument("--image", type=Path, required=True, help="image A (keeps its identity-unrelated code)")
    g.add_argument("--identity-from", type=Path, required=True, help="image B (gives identity parts)")
    g.add_argument("--parts", default=None, help="comma-separated part indices 0-7 to take from B (default: all)")
    g.add_argument("--out", type=Path, required=True, help="output PNG")
    g.add_argument("--official", action="store_true")

    d = cli.add_command(parser, "demo", _demo, help="synthetic identities, a few iterations of each stage, PNGs")
    d.add_argument("--steps", type=int, default=None, help="iterations of every stage (default 30 / 120 / 10 for stages 1 / 2 / 3)")

    ex = cli.add_command(parser, "export", _export, help="torch.export the identity encoder (inference model)")
    ex.add_argument("--out", type=Path, required=True, help="output .pt2 file")
    ex.add_argument("--official", action="store_true")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run(build_parser(), argv)
