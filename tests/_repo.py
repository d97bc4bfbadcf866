"""Helpers for the repository checks."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def package_dirs() -> list[Path]:
    return sorted(p for p in (ROOT / "packages").iterdir() if (p / "pyproject.toml").is_file())


def all_dirs() -> list[Path]:
    return [ROOT / "shared", *package_dirs()]


def pyproject(folder: Path) -> dict:
    return tomllib.loads((folder / "pyproject.toml").read_text(encoding="utf-8"))


def import_name(folder: Path) -> str:
    return "cvcore" if folder.name == "shared" else folder.name.replace("-", "_")
