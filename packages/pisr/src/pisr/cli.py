"""The ``pisr`` command: argument parsing and dispatch only."""

from __future__ import annotations

from collections.abc import Sequence

from cvcore import cli

from pisr import __version__


def build_parser() -> cli.Parser:
    parser = cli.make_parser("pisr", version=__version__, description="PISR: learning with privileged information for efficient image super-resolution (ECCV 2020) in PyTorch")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run(build_parser(), argv)
