"""The ``reid-relation`` command: argument parsing and dispatch only."""

from __future__ import annotations

from collections.abc import Sequence

from cvcore import cli

from reid_relation import __version__


def build_parser() -> cli.Parser:
    parser = cli.make_parser("reid-relation", version=__version__, description="Relation network for person re-identification (AAAI 2020) in PyTorch")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run(build_parser(), argv)
