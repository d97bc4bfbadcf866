"""The common command-line skeleton every package's console script is built on.

Example (a package's ``cli.py``)::

    from cvcore import cli

    def train(args) -> int:
        cfg = cli.resolve_config(TrainConfig, args)
        ...
        cli.emit({"top1": 91.2}, args)
        return 0

    def build_parser():
        parser = cli.make_parser("ewgs", version=__version__, description="EWGS quantization")
        cli.add_command(parser, "train", train, help="train a quantized network")
        return parser

    def main(argv=None) -> int:
        return cli.run(build_parser(), argv)

Exit codes: 0 success, 1 user error (one line on stderr, traceback only with ``-v``),
2 usage error (one line), 130 interrupted. Results go to stdout, progress to stderr.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import traceback
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from cvcore.errors import UserError

T = TypeVar("T")

__all__ = [
    "Parser",
    "add_command",
    "common_parser",
    "emit",
    "make_parser",
    "nonnegative_float",
    "nonnegative_int",
    "positive_float",
    "positive_int",
    "resolve_config",
    "run",
]


class Parser(argparse.ArgumentParser):
    """ArgumentParser whose usage errors are one line and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def _number(text: str, kind: type, what: str) -> float:
    try:
        v = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
    if kind is float and not math.isfinite(v):
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
    return v


def positive_int(text: str) -> int:
    """argparse ``type=``: a whole number >= 1."""
    v = _number(text, int, "a whole number >= 1")
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {v}")
    return int(v)


def nonnegative_int(text: str) -> int:
    """argparse ``type=``: a whole number >= 0."""
    v = _number(text, int, "a whole number >= 0")
    if v < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {v}")
    return int(v)


def positive_float(text: str) -> float:
    """argparse ``type=``: a finite number > 0."""
    v = _number(text, float, "a finite number > 0")
    if not v > 0:
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {text!r}")
    return float(v)


def nonnegative_float(text: str) -> float:
    """argparse ``type=``: a finite number >= 0."""
    v = _number(text, float, "a finite number >= 0")
    if not v >= 0:
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0, got {text!r}")
    return float(v)


def common_parser() -> argparse.ArgumentParser:
    """The flags every sub-command shares (use as ``parents=[common_parser()]``)."""
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("common options")
    g.add_argument("--config", type=Path, metavar="PATH", help="TOML recipe file")
    g.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE",
        help="override a config value (repeatable), e.g. --set optim.lr=0.01",
    )
    g.add_argument("--data-root", type=Path, metavar="PATH", help="root folder of the data set")
    g.add_argument("--output-dir", type=Path, metavar="PATH", help="where results and checkpoints go")
    g.add_argument("--weights", type=Path, metavar="PATH", help="model weights / checkpoint to load")
    g.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto", help="compute device")
    g.add_argument("--seed", type=nonnegative_int, default=None, help="random seed")
    g.add_argument("--num-workers", type=nonnegative_int, default=0, metavar="N", help="data-loading workers")
    g.add_argument("--threads", type=nonnegative_int, default=None, metavar="N", help="torch CPU threads")
    g.add_argument("-v", "--verbose", action="count", default=0, help="more logging; tracebacks on errors")
    g.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    return p


def make_parser(prog: str, *, version: str, description: str = "") -> Parser:
    """Top-level parser with ``--version`` and a required sub-command."""
    parser = Parser(prog=prog, description=description)
    parser.add_argument("--version", action="version", version=f"{prog} {version}")
    parser._cvcore_sub = parser.add_subparsers(  # type: ignore[attr-defined]
        dest="command", metavar="COMMAND", parser_class=Parser, required=True
    )
    return parser


def add_command(
    parser: Parser,
    name: str,
    func: Callable[[argparse.Namespace], int | None],
    *,
    help: str,
    aliases: Sequence[str] = (),
    common: bool = True,
) -> Parser:
    """Add sub-command ``name`` that calls ``func(args)``; returns its parser for more flags."""
    sub = parser._cvcore_sub  # type: ignore[attr-defined]
    cmd = sub.add_parser(
        name, help=help, description=help, aliases=list(aliases),
        parents=[common_parser()] if common else [],
    )
    cmd.set_defaults(func=func)
    return cmd


def resolve_config(
    cls: type[T],
    args: argparse.Namespace,
    *,
    base: T | None = None,
    explicit: Mapping[str, Any] | None = None,
) -> T:
    """Defaults < ``--config`` < ``--set`` < explicit flags (those not None)."""
    from cvcore.config import apply_overrides, load_config

    cfg = load_config(cls, getattr(args, "config", None), getattr(args, "set", ()) or (), base=base)
    if explicit:
        sets = [f"{k}={_toml_literal(v)}" for k, v in explicit.items() if v is not None]
        cfg = apply_overrides(cfg, sets)
    return cfg


def _toml_literal(v: Any) -> str:
    from cvcore.config import _toml_value

    return _toml_value(os.fspath(v) if isinstance(v, os.PathLike) else v)


def emit(result: Mapping[str, Any], args: argparse.Namespace | None = None, *, name: str = "metrics.json") -> None:
    """Print ``result`` as JSON on stdout; also write it to ``--output-dir/name`` if given."""
    from cvcore.io import _json_default, atomic_write_json

    sys.stdout.write(json.dumps(result, default=_json_default) + "\n")
    sys.stdout.flush()
    out = getattr(args, "output_dir", None) if args is not None else None
    if out is not None:
        atomic_write_json(Path(out) / name, result)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return " ".join(text.split("\n")[:1]) if len(text) > 400 else " ".join(text.split())


def run(parser: Parser, argv: Sequence[str] | None = None) -> int:
    """Parse ``argv``, call the sub-command, turn errors into exit codes and one-line messages."""
    try:
        args = parser.parse_args(list(argv) if argv is not None else None)
    except SystemExit as exc:
        return int(exc.code) if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    verbose = getattr(args, "verbose", 0)
    from cvcore import progress

    progress.set_quiet(True if getattr(args, "quiet", False) else None)
    try:
        if getattr(args, "threads", None):
            import torch

            torch.set_num_threads(args.threads)
        code = args.func(args)
        return 0 if code is None else int(code)
    except UserError as exc:
        if verbose:
            traceback.print_exc()
        print(f"{parser.prog}: error: {_one_line(exc)}", file=sys.stderr)
        return 1
    except (FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError) as exc:
        if verbose:
            traceback.print_exc()
        print(f"{parser.prog}: error: {_one_line(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{parser.prog}: interrupted", file=sys.stderr)
        return 130
    finally:
        progress.set_quiet(None)
