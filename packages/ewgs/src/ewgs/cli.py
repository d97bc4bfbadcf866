"""The ``ewgs`` command: argument parsing and dispatch only."""

from __future__ import annotations

from collections.abc import Sequence

from cvcore import cli

from ewgs import __version__


def build_parser() -> cli.Parser:
    parser = cli.make_parser("ewgs", version=__version__, description="EWGS: network quantization with element-wise gradient scaling (CVPR 2021) in PyTorch")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run(build_parser(), argv)
