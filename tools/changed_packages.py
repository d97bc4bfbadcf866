#!/usr/bin/env python3
"""Map changed paths to the packages they affect (CONVENTIONS.md section 11).

    python tools/changed_packages.py [--base REV] [--json] [PATH ...]

Without PATHs, the paths changed since ``--base`` (default ``origin/main`` or, failing that,
``HEAD~1``) according to git. A change under shared/, tools/, constraints/, .ci/ or to
noxfile.py selects every package (plus ``shared``); one under packages/<name>/ selects that
package; an unknown directory under packages/ is an error. Other paths select nothing.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GLOBAL_PREFIXES = ("shared/", "tools/", "constraints/", ".ci/")
GLOBAL_FILES = ("noxfile.py", "pyproject.toml")


def all_packages(root: Path = ROOT) -> list[str]:
    return sorted(p.name for p in (root / "packages").iterdir() if (p / "pyproject.toml").is_file())


def select(paths: Iterable[str], packages: list[str]) -> list[str]:
    chosen: set[str] = set()
    for raw in paths:
        path = raw.strip().lstrip("./") if raw.startswith("./") else raw.strip()
        if not path:
            continue
        if path.startswith(GLOBAL_PREFIXES) or path in GLOBAL_FILES:
            return ["shared", *packages]
        if path.startswith("packages/"):
            parts = path.split("/")
            if len(parts) < 3 or parts[1] not in packages:
                raise ValueError(f"unknown package path: {path}")
            chosen.add(parts[1])
    return sorted(chosen)


def git_changed(base: str | None) -> list[str]:
    candidates = [base] if base else ["origin/main", "HEAD~1"]
    for rev in candidates:
        res = subprocess.run(["git", "diff", "--name-only", f"{rev}...HEAD"], cwd=ROOT, capture_output=True, text=True)
        if res.returncode == 0:
            return res.stdout.splitlines()
    res = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True)
    return res.stdout.splitlines()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="packages affected by a change")
    ap.add_argument("paths", nargs="*")
    ap.add_argument("--base", default=None)
    ap.add_argument("--json", action="store_true", help="print a JSON list (for CI matrices)")
    args = ap.parse_args(argv)
    paths = args.paths or git_changed(args.base)
    try:
        names = select(paths, all_packages())
    except ValueError as exc:
        print(f"changed_packages: error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(names) if args.json else "\n".join(names))
    return 0


if __name__ == "__main__":
    sys.exit(main())
