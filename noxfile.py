"""Every test, lint, demo and build target of the monorepo (CONVENTIONS.md section 10).

    nox -l                      list targets
    nox -s tests-ewgs           one package's default tier
    nox -t tests                every package's default tier (plus tests-shared)
    nox -R -s tests-ewgs -- -k quantizer -x     reuse the env, pass pytest arguments
"""

from __future__ import annotations

import os
import pathlib

import nox

nox.needs_version = ">=2025.10.14"
nox.options.default_venv_backend = "uv"
nox.options.download_python = "never"
nox.options.sessions = None  # default: every session not marked default=False

ROOT = pathlib.Path(__file__).parent
PY = "3.11"
PACKAGES = sorted(p.name for p in (ROOT / "packages").iterdir() if (p / "pyproject.toml").is_file())
# PYTHONDONTWRITEBYTECODE="" lets reused environments keep bytecode (torch._dynamo alone costs
# 15-25 s to compile from source in every process otherwise).
ENV = {"OMP_NUM_THREADS": "2", "MKL_NUM_THREADS": "2", "CVCORE_OFFLINE": "1", "HF_HUB_OFFLINE": "1",
       "PYTHONDONTWRITEBYTECODE": ""}
CONSTRAINTS = "constraints/ci.txt"


def _junit(name: str) -> list[str]:
    folder = os.environ.get("CVCORE_JUNIT_DIR")
    return [f"--junitxml={pathlib.Path(folder) / f'{name}.xml'}"] if folder else []


def _install(s: nox.Session, rel: str) -> None:
    pyproject = nox.project.load_toml(ROOT / rel / "pyproject.toml")
    groups = nox.project.dependency_groups(pyproject, "test")
    editables = ["-e", "shared"] if rel != "shared" else []
    s.install("-c", CONSTRAINTS, *editables, "-e", rel, *groups)
    s.run("python", "tools/check_local_install.py", rel)


def _define(name: str, rel: str) -> None:
    tags = ["tests", name]

    @nox.session(name=f"tests-{name}", python=PY, tags=tags)
    def tests(s: nox.Session) -> None:
        _install(s, rel)
        s.run("pytest", f"{rel}/tests", "-m", "not slow and not gpu", *_junit(name), *s.posargs, env=ENV)

    @nox.session(name=f"slow-{name}", python=PY, tags=["slow", name], default=False)
    def slow(s: nox.Session) -> None:
        _install(s, rel)
        s.run("pytest", f"{rel}/tests", "-m", "slow and not gpu", *s.posargs, env=ENV,
              success_codes=[0, 5])  # 5: the package has no slow tests yet

    if rel != "shared":

        @nox.session(name=f"demo-{name}", python=PY, tags=["demo", name], default=False)
        def demo(s: nox.Session) -> None:
            _install(s, rel)
            out = ROOT / ".nox-output" / name
            s.run(name, "demo", "--output-dir", str(out), *s.posargs, env=ENV)


_define("shared", "shared")
for _name in PACKAGES:
    _define(_name, f"packages/{_name}")


@nox.session(python=PY, tags=["repo"])
def repo(s: nox.Session) -> None:
    """Cross-package checks (layout, versions, changelogs, tools); no torch needed."""
    s.install("-c", CONSTRAINTS, "pytest", "packaging")
    s.run("pytest", "tests", *_junit("repo"), *s.posargs, env=ENV)


@nox.session(python=PY, default=False)
def lint(s: nox.Session) -> None:
    s.install("ruff")
    s.run("ruff", "check", "shared", "packages", "tools", "tests", "noxfile.py", *s.posargs)


@nox.session(python=PY, default=False)
def build(s: nox.Session) -> None:
    """Build the sdist and wheel of shared and of every package into dist/<name>/."""
    for rel in ["shared", *(f"packages/{n}" for n in PACKAGES)]:
        name = pathlib.Path(rel).name if rel != "shared" else "cvcore"
        s.run("uv", "build", "--quiet", "--out-dir", f"dist/{name}", rel, external=True)
