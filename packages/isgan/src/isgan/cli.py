"""The ``isgan`` command: argument parsing and dispatch only."""

from __future__ import annotations

from collections.abc import Sequence

from cvcore import cli

from isgan import __version__


def build_parser() -> cli.Parser:
    parser = cli.make_parser("isgan", version=__version__, description="IS-GAN: learning disentangled representation for robust person re-identification (NeurIPS 2019) in PyTorch")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run(build_parser(), argv)
