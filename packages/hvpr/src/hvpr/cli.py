"""The ``hvpr`` command: argument parsing and dispatch only (implementations in :mod:`hvpr.commands`).

Sub-commands: ``synth``, ``make-infos``, ``train``, ``eval``, ``detect`` (alias ``predict``), ``demo``, ``export``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from cvcore import cli
from hvpr import __version__


def _lazy(name: str):
    def run(args):
        from hvpr import commands

        return getattr(commands, name)(args)

    return run


def build_parser() -> cli.Parser:
    parser = cli.make_parser("hvpr", version=__version__, description="HVPR: hybrid voxel-point representation for "
                             "single-stage 3D object detection (CVPR 2021) in PyTorch")

    p = cli.add_command(parser, "synth", _lazy("cmd_synth"),
                        help="write synthetic LiDAR scenes in the KITTI layout to --output-dir")
    p.add_argument("--num-train", type=cli.positive_int, default=64, metavar="N")
    p.add_argument("--num-val", type=cli.nonnegative_int, default=24, metavar="N")
    p.add_argument("--num-test", type=cli.nonnegative_int, default=0, metavar="N")
    p.add_argument("--classes", default="Car", help="comma-separated classes, e.g. Car,Pedestrian,Cyclist")

    p = cli.add_command(parser, "make-infos", _lazy("cmd_make_infos"),
                        help="info files (+ GT database) of a KITTI-layout --data-root")
    p.add_argument("--splits", default="train,val", help="comma-separated ImageSets splits")
    p.add_argument("--image-shape", default=None, metavar="H,W", help="image size when image_2 is absent")
    p.add_argument("--no-gt-database", action="store_true", help="skip the GT-sampling database")

    p = cli.add_command(parser, "train", _lazy("cmd_train"),
                        help="train HVPR on --data-root (KITTI layout); works under torchrun (DDP)")
    p.add_argument("--split", default="train")
    p.add_argument("--val-split", default="val", help="split evaluated during/after training ('' = none)")
    p.add_argument("--epochs", type=cli.positive_int, default=None)
    p.add_argument("--batch-size", type=cli.positive_int, default=None, help="per process")
    p.add_argument("--max-iters", type=cli.positive_int, default=None, help="schedule length in steps")
    p.add_argument("--eval-every", type=cli.nonnegative_int, default=0, metavar="STEPS")
    p.add_argument("--ckpt-every", type=cli.nonnegative_int, default=0, metavar="STEPS")
    p.add_argument("--log-every", type=cli.nonnegative_int, default=10, metavar="STEPS")
    p.add_argument("--resume", type=Path, default=None, metavar="CKPT", help="continue a run from its last.pt")

    p = cli.add_command(parser, "eval", _lazy("cmd_eval"), help="KITTI AP of --weights on a split of --data-root")
    p.add_argument("--split", default="val")
    p.add_argument("--recall", choices=("11", "40", "both"), default="both")
    p.add_argument("--metrics", default="bbox,bev,3d", help="comma-separated: bbox, bev, 3d")
    p.add_argument("--ablate-memory", choices=("none", "random", "zero"), default="none",
                   help="diagnostic: evaluate with random or zero memory items (spec §12)")
    p.add_argument("--save-preds", type=Path, default=None, metavar="DIR", help="write KITTI result files")

    p = cli.add_command(parser, "detect", _lazy("cmd_detect"), aliases=("predict",),
                        help="detect objects in .bin/.npy scans: KITTI labels + BEV PNGs in --output-dir")
    p.add_argument("inputs", nargs="+", metavar="SCAN", help=".bin (float32 x y z r) or .npy (N, 4) files/folders")
    p.add_argument("--calib", type=Path, default=None, help="KITTI calib file (default: the synthetic calibration)")
    p.add_argument("--image-shape", default=None, metavar="H,W", help="image size for 2D boxes (default 750,2484)")
    p.add_argument("--score-thresh", type=cli.nonnegative_float, default=None)
    p.add_argument("--resolution", type=cli.positive_float, default=0.1, help="BEV metres per pixel")

    p = cli.add_command(parser, "demo", _lazy("cmd_demo"),
                        help="synthetic scenes -> train tiny HVPR and plain pillars on CPU -> Car AP + BEV PNG")
    p.add_argument("--iters", type=cli.positive_int, default=600, help="training iterations per model")
    p.add_argument("--num-train", type=cli.positive_int, default=64)
    p.add_argument("--num-val", type=cli.positive_int, default=24)
    p.add_argument("--no-baseline", action="store_true", help="skip the plain-pillar baseline")

    p = cli.add_command(parser, "export", _lazy("cmd_export"),
                        help="torch.export program of the inference network of --weights")
    p.add_argument("--scan", type=Path, default=None, help="example scan (.bin/.npy) to trace and check with")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run(build_parser(), argv)
