"""The ``bap`` command: argument parsing and dispatch only."""

from __future__ import annotations

from collections.abc import Sequence

from cvcore import cli

from bap import __version__


def build_parser() -> cli.Parser:
    parser = cli.make_parser("bap", version=__version__, description="BANA: background-aware pooling and noise-aware loss for box-supervised semantic segmentation (CVPR 2021) in PyTorch")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run(build_parser(), argv)
