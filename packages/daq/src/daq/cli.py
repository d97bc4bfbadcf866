"""The ``daq`` command: argument parsing and dispatch only."""

from __future__ import annotations

from collections.abc import Sequence

from cvcore import cli

from daq import __version__


def build_parser() -> cli.Parser:
    parser = cli.make_parser("daq", version=__version__, description="DAQ: distance-aware quantization (ICCV 2021) in PyTorch")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run(build_parser(), argv)
