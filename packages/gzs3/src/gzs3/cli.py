"""The ``gzs3`` command: argument parsing and dispatch only."""

from __future__ import annotations

from collections.abc import Sequence

from cvcore import cli

from gzs3 import __version__


def build_parser() -> cli.Parser:
    parser = cli.make_parser("gzs3", version=__version__, description="JoEm: exploiting a joint embedding space for generalized zero-shot semantic segmentation (ICCV 2021) in PyTorch")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run(build_parser(), argv)
