"""The ``mnad`` command: argument parsing and dispatch only."""

from __future__ import annotations

from collections.abc import Sequence

from cvcore import cli

from mnad import __version__


def build_parser() -> cli.Parser:
    parser = cli.make_parser("mnad", version=__version__, description="MNAD: learning memory-guided normality for anomaly detection (CVPR 2020) in PyTorch")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run(build_parser(), argv)
