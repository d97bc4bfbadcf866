#!/usr/bin/env python3
"""Assert that the environment imports cvcore (and the package) from this checkout's src/
folders, not from an index (CONVENTIONS.md section 6).

    python tools/check_local_install.py packages/ewgs
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def check(rel: str) -> list[str]:
    problems = []
    targets = [("cvcore", ROOT / "shared" / "src")]
    if rel != "shared":
        name = Path(rel).name
        targets.append((name.replace("-", "_"), ROOT / rel / "src"))
    for mod_name, src in targets:
        try:
            mod = importlib.import_module(mod_name)
        except ImportError as exc:
            problems.append(f"{mod_name} is not importable: {exc}")
            continue
        origin = Path(mod.__file__ or "").resolve()
        if src.resolve() not in origin.parents:
            problems.append(f"{mod_name} comes from {origin}, not from {src}")
    return problems


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: check_local_install.py <shared | packages/NAME>", file=sys.stderr)
        return 2
    problems = check(args[0])
    for p in problems:
        print(f"check_local_install: {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
