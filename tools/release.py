#!/usr/bin/env python3
"""Release one package (CONVENTIONS.md section 7).

    python tools/release.py <name|shared> {major|minor|patch} [--date YYYY-MM-DD] [--skip-tests] [--no-git]

Checks that the tree is clean and the package's default tests pass (``nox -s tests-<name>``),
bumps ``version`` in its pyproject.toml, turns the ``## Unreleased`` changelog section into
``## [X.Y.Z] - DATE`` (with a fresh empty Unreleased section above it), commits, and tags
``<name>-vX.Y.Z`` (``cvcore-vX.Y.Z`` for shared).
"""

from __future__ import annotations

import argparse
import datetime
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VERSION_RE = re.compile(r'^(version\s*=\s*")(\d+)\.(\d+)\.(\d+)(")', re.MULTILINE)


def bump(version: str, part: str) -> str:
    major, minor, patch = (int(x) for x in version.split("."))
    if part == "major":
        return f"{major + 1}.0.0"
    if part == "minor":
        return f"{major}.{minor + 1}.0"
    if part == "patch":
        return f"{major}.{minor}.{patch + 1}"
    raise ValueError(f"part must be major, minor or patch, got {part!r}")


def package_dir(name: str, root: Path | None = None) -> Path:
    root = root or ROOT
    return root / "shared" if name in ("shared", "cvcore") else root / "packages" / name


def tag_name(name: str, version: str) -> str:
    return f"{'cvcore' if name in ('shared', 'cvcore') else name}-v{version}"


def rewrite_version(pyproject: str, part: str) -> tuple[str, str, str]:
    m = VERSION_RE.search(pyproject)
    if not m:
        raise ValueError("no version = \"X.Y.Z\" line in pyproject.toml")
    old = f"{m.group(2)}.{m.group(3)}.{m.group(4)}"
    new = bump(old, part)
    return VERSION_RE.sub(lambda mm: f"{mm.group(1)}{new}{mm.group(5)}", pyproject, count=1), old, new


def rewrite_changelog(text: str, version: str, date: str) -> str:
    marker = "## Unreleased"
    if marker not in text:
        raise ValueError("CHANGELOG.md has no '## Unreleased' section")
    head, _, rest = text.partition(marker)
    next_section = re.search(r"^## \[", rest, re.MULTILINE)
    body = rest[: next_section.start()] if next_section else rest
    if not re.search(r"^- ", body, re.MULTILINE):
        raise ValueError("the Unreleased section lists no change; nothing to release")
    # drop empty ### headings from the released section
    kept = re.sub(r"^### \w+\n(?=(### |\s*$))", "", body.strip("\n") + "\n", flags=re.MULTILINE)
    after = rest[next_section.start():] if next_section else ""
    return f"{head}{marker}\n\n## [{version}] - {date}\n{kept.lstrip(chr(10))}\n{after}".rstrip("\n") + "\n"


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, check=True, capture_output=True, text=True).stdout


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="bump, changelog, commit and tag one package")
    ap.add_argument("name")
    ap.add_argument("part", choices=["major", "minor", "patch"])
    ap.add_argument("--date", default=datetime.date.today().isoformat())
    ap.add_argument("--skip-tests", action="store_true")
    ap.add_argument("--no-git", action="store_true", help="only rewrite the files")
    args = ap.parse_args(argv)
    folder = package_dir(args.name)
    if not (folder / "pyproject.toml").is_file():
        print(f"release: error: no package {args.name!r} ({folder})", file=sys.stderr)
        return 1
    if not args.no_git and _git("status", "--porcelain").strip():
        print("release: error: the working tree is not clean", file=sys.stderr)
        return 1
    if not args.skip_tests:
        session = "tests-shared" if args.name in ("shared", "cvcore") else f"tests-{args.name}"
        if subprocess.run(["nox", "-s", session], cwd=ROOT).returncode != 0:
            print(f"release: error: {session} failed", file=sys.stderr)
            return 1
    pyproject = folder / "pyproject.toml"
    changelog = folder / "CHANGELOG.md"
    try:
        new_py, old, new = rewrite_version(pyproject.read_text(), args.part)
        new_cl = rewrite_changelog(changelog.read_text(), new, args.date)
    except ValueError as exc:
        print(f"release: error: {exc}", file=sys.stderr)
        return 1
    pyproject.write_text(new_py)
    changelog.write_text(new_cl)
    tag = tag_name(args.name, new)
    if not args.no_git:
        _git("add", str(pyproject), str(changelog))
        _git("commit", "-q", "-m", f"Release {tag} ({old} -> {new})")
        _git("tag", "-a", tag, "-m", f"Release {tag}")
    print(tag)
    return 0


if __name__ == "__main__":
    sys.exit(main())
