"""The ``mnad`` command: argument parsing and dispatch only.

``mnad train | eval | score (alias predict) | demo | export``.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from cvcore import cli
from cvcore.cli import nonnegative_float as _nonneg_float
from cvcore.cli import positive_float as _pos_float
from cvcore.cli import positive_int as _pos_int
from mnad import __version__

DATASET_CHOICES = ("ped2", "avenue", "shanghai", "folder")


def _unit_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], got {text!r}") from None
    if not 0.0 <= v <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], got {v}")
    return v


def _train(args: argparse.Namespace) -> int:
    from mnad.commands import train_command

    return train_command(args)


def _eval(args: argparse.Namespace) -> int:
    from mnad.commands import eval_command

    return eval_command(args)


def _score(args: argparse.Namespace) -> int:
    from mnad.commands import score_command

    return score_command(args)


def _demo(args: argparse.Namespace) -> int:
    from mnad.commands import demo_command

    return demo_command(args)


def _export(args: argparse.Namespace) -> int:
    from mnad.commands import export_command

    return export_command(args)


def _scoring_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("scoring")
    g.add_argument("--checkpoint", type=Path, metavar="PATH", help="checkpoint from 'mnad train' (same as --weights)")
    g.add_argument("--lambda", dest="lam", type=_unit_float, default=None,
                   help="weight of the PSNR cue in the anomaly score (E12); default 0.6 pred / 0.7 recon")
    g.add_argument("--gamma", type=_nonneg_float, default=None,
                   help="test-time memory update threshold (E10); default 0.01 pred / 0.015 recon")
    g.add_argument("--no-test-update", action="store_true", help="keep the trained memory items fixed at test time")
    g.add_argument("--labels", type=Path, metavar="FILE|DIR",
                   help="frame labels: official frame_labels_*.npy (1-D or (1, n)) or a folder of <video>.npy/.txt")
    g.add_argument("--official-items", type=Path, metavar="PATH",
                   help="official keys.pt; --weights/--checkpoint then points at an official model.pth")
    g.add_argument("--method", choices=("pred", "recon"), default=None, help="variant of an official model file")
    g.add_argument("--trust-pickle", action="store_true",
                   help="allow unpickling an official whole-module model.pth (runs code from the file)")
    g.add_argument("--size", type=_pos_int, default=None, help="frame size for official models (default 256)")
    g.add_argument("--color", choices=("bgr", "rgb", "gray"), default=None, help="channel order of the frames")


def build_parser() -> cli.Parser:
    parser = cli.make_parser("mnad", version=__version__, description=(
        "MNAD: learning memory-guided normality for anomaly detection (CVPR 2020) in PyTorch"))

    t = cli.add_command(parser, "train", _train, help="train on normal videos (frame folders)")
    t.add_argument("--dataset", choices=DATASET_CHOICES, default=None,
                   help="layout under --data-root: <root>/training/frames/<video>/<frame>.jpg (default folder)")
    t.add_argument("--method", choices=("pred", "recon"), default=None, help="future-frame prediction or reconstruction")
    t.add_argument("--epochs", type=_pos_int, default=None)
    t.add_argument("--batch-size", type=_pos_int, default=None)
    t.add_argument("--lr", type=_pos_float, default=None)
    t.add_argument("--lambda-compact", type=_nonneg_float, default=None)
    t.add_argument("--lambda-separate", type=_nonneg_float, default=None)
    t.add_argument("--num-items", type=_pos_int, default=None)
    t.add_argument("--width", type=_pos_int, default=None, help="channel width multiplier (64 = official)")
    t.add_argument("--size", type=_pos_int, default=None, help="frames are resized to size x size (multiple of 8)")
    t.add_argument("--t-length", type=_pos_int, default=None, help="frames per sample (5 pred, 1 recon)")
    t.add_argument("--color", choices=("bgr", "rgb", "gray"), default=None)
    t.add_argument("--normalize", choices=("all", "assigned"), default=None,
                   help="max set of the update weights (E4): all queries (official code) or assigned ones (paper)")
    t.add_argument("--max-iters", type=_pos_int, default=None, help="stop after this many optimiser steps")
    t.add_argument("--no-memory", action="store_true", help="ablation: no memory module (score = PSNR only)")
    t.add_argument("--resume", nargs="?", const="auto", default=None, metavar="PATH",
                   help="continue from a checkpoint (default: <output-dir>/checkpoint.pt)")

    e = cli.add_command(parser, "eval", _eval, help="frame-level AUC on a labelled test split")
    e.add_argument("--dataset", choices=DATASET_CHOICES, default="folder",
                   help="layout under --data-root: <root>/testing/frames/<video>/<frame>.jpg")
    _scoring_flags(e)
    e.add_argument("--auc", choices=("pooled", "per-video"), default="pooled",
                   help="pooled over all frames (paper) or mean of per-video AUCs")
    e.add_argument("--save-scores", type=Path, metavar="CSV", help="write per-frame scores as CSV")
    e.add_argument("--plot", action="store_true", help="write score curves per video to <output-dir>/plots/")

    s = cli.add_command(parser, "score", _score, aliases=("predict",),
                        help="per-frame anomaly scores of new footage (CSV + PNG score curves)")
    s.add_argument("--video-dir", "--input", dest="video_dir", type=Path, metavar="DIR",
                   help="one video folder of frames, or a folder of video folders")
    _scoring_flags(s)
    s.add_argument("--output", type=Path, metavar="CSV|JSON", help="scores file (default <output-dir>/scores.csv)")
    s.add_argument("--no-plot", action="store_true", help="do not draw the score curves")

    d = cli.add_command(parser, "demo", _demo, help="synthetic moving-shapes videos: train, score, AUC with/without memory")
    d.add_argument("--iters", type=_pos_int, default=1000,
                   help="training iterations per model (1000: AUC >= 0.90 over seeds 0-9; about 2 min in all)")
    d.add_argument("--width", type=_pos_int, default=8)
    d.add_argument("--size", type=_pos_int, default=64)

    x = cli.add_command(parser, "export", _export, help="write a torch.export program of the scoring step")
    x.add_argument("--checkpoint", type=Path, metavar="PATH", help="checkpoint from 'mnad train' (same as --weights)")
    x.add_argument("--format", choices=("export",), default="export", help="torch.export program (.pt2)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run(build_parser(), argv)
