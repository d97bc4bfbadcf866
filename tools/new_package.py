#!/usr/bin/env python3
"""Scaffold ``packages/<name>`` from ``tools/templates/package`` (CONVENTIONS.md section 3).

    python tools/new_package.py <name> --description "What it is (Venue Year) in PyTorch"
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "tools" / "templates" / "package"

# template file -> destination (relative to the package folder)
FILES = {
    "pyproject.toml.tmpl": "pyproject.toml",
    "README.md.tmpl": "README.md",
    "CHANGELOG.md.tmpl": "CHANGELOG.md",
    "__init__.py.tmpl": "src/{mod}/__init__.py",
    "__main__.py.tmpl": "src/{mod}/__main__.py",
    "cli.py.tmpl": "src/{mod}/cli.py",
    "conftest.py.tmpl": "tests/conftest.py",
    "test_cli.py.tmpl": "tests/test_cli.py",
}


def scaffold(name: str, description: str, root: Path = ROOT) -> Path:
    if not re.fullmatch(r"[a-z][a-z0-9]*(-[a-z0-9]+)*", name):
        raise ValueError(f"package name must be lowercase letters/digits with single hyphens, got {name!r}")
    dest = root / "packages" / name
    if dest.exists():
        raise FileExistsError(f"{dest} already exists")
    mod = name.replace("-", "_")
    values = {"name": name, "mod": mod, "description": description}
    for tmpl, rel in FILES.items():
        out = dest / rel.format(**values)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text((TEMPLATES / tmpl).read_text(encoding="utf-8").format(**values), encoding="utf-8")
    (dest / "src" / mod / "py.typed").touch()
    (dest / "src" / mod / "configs").mkdir()
    (dest / "benchmarks").mkdir()
    shutil.copy(root / "LICENSE", dest / "LICENSE")
    return dest


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("name")
    ap.add_argument("--description", default=None)
    args = ap.parse_args(argv)
    try:
        dest = scaffold(args.name, args.description or f"{args.name} in PyTorch")
    except (ValueError, FileExistsError) as exc:
        print(f"new_package: error: {exc}", file=sys.stderr)
        return 1
    print(dest)
    return 0


if __name__ == "__main__":
    sys.exit(main())
