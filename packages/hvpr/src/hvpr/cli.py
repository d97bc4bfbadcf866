"""The ``hvpr`` command: argument parsing and dispatch only."""

from __future__ import annotations

from collections.abc import Sequence

from cvcore import cli
from hvpr import __version__


def build_parser() -> cli.Parser:
    parser = cli.make_parser("hvpr", version=__version__, description="HVPR: hybrid voxel-point representation for single-stage 3D object detection (CVPR 2021) in PyTorch")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run(build_parser(), argv)
