"""The ``sfnet`` command: argument parsing and dispatch only."""

from __future__ import annotations

from collections.abc import Sequence

from cvcore import cli

from sfnet import __version__


def build_parser() -> cli.Parser:
    parser = cli.make_parser("sfnet", version=__version__, description="SFNet: learning object-aware semantic correspondence (CVPR 2019) in PyTorch")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run(build_parser(), argv)
