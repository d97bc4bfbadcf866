#!/usr/bin/env python3
"""Run every default-tier test of the monorepo and print one line ``N passed, N failed``.

    python3 tools/run_tests.py [nox arguments...]      (default: -t tests, then -s repo)

Needs only Python 3.11 and pip: it makes a small tools environment with nox and uv in
``.cache/tools``, points uv's package cache at the checkout's filesystem so the torch stack
is hard-linked into every nox environment (stored once), runs the nox sessions with a JUnit
report each, and exits non-zero when a test failed or errored, a session failed, or a
package's session collected no test. Set ``CVCORE_TEST_DATA`` (tools/fetch_test_data.sh)
to include the ``realdata`` tests; ``.ci/run`` does.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("CVCORE_CACHE", ROOT / ".cache"))
TOOLS = CACHE / "tools"
TOOL_REQUIREMENTS = ["nox>=2025.10.14", "uv>=0.5"]


def tools_env() -> Path:
    bindir = TOOLS / "bin"
    if not (bindir / "nox").exists() or not (bindir / "uv").exists():
        print(f"run_tests: creating the tools environment in {TOOLS}", file=sys.stderr, flush=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(TOOLS)
        subprocess.run([str(bindir / "python"), "-m", "pip", "install", "-q", *TOOL_REQUIREMENTS], check=True)
    return bindir


def uv_cache_dir() -> Path:
    """uv's cache on the same filesystem as the checkout, so that installs are hard links."""
    if os.environ.get("UV_CACHE_DIR"):
        return Path(os.environ["UV_CACHE_DIR"])
    home_cache = Path.home() / ".cache" / "uv"
    try:
        home_cache.mkdir(parents=True, exist_ok=True)
        if os.stat(home_cache).st_dev == os.stat(ROOT).st_dev:
            return home_cache
    except OSError:
        pass
    return CACHE / "uv"


def summarize(junit_dir: Path, expected: list[str]) -> tuple[int, int, int, list[str]]:
    passed = failed = skipped = 0
    problems = []
    for name in expected:
        path = junit_dir / f"{name}.xml"
        if not path.is_file():
            problems.append(f"{name}: no test report (the session failed before pytest ran)")
            continue
        root = ET.parse(path).getroot()
        suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
        tests = sum(int(s.get("tests", 0)) for s in suites)
        fail = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
        skip = sum(int(s.get("skipped", 0)) for s in suites)
        if tests - skip == 0:
            problems.append(f"{name}: no test ran")
        passed += tests - fail - skip
        failed += fail
        skipped += skip
    return passed, failed, skipped, problems


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    bindir = tools_env()
    junit = CACHE / "junit"
    junit.mkdir(parents=True, exist_ok=True)
    for old in junit.glob("*.xml"):
        old.unlink()
    env = dict(os.environ)
    env.update(
        PATH=f"{bindir}{os.pathsep}{env.get('PATH', '')}",
        UV_LINK_MODE="hardlink",
        UV_PYTHON_DOWNLOADS="never",
        UV_CACHE_DIR=str(uv_cache_dir()),
        CVCORE_JUNIT_DIR=str(junit),
    )
    packages = sorted(p.name for p in (ROOT / "packages").iterdir() if (p / "pyproject.toml").is_file())
    runs = [args] if args else [["-t", "tests"], ["-s", "repo"]]
    codes = []
    for nox_args in runs:
        print(f"run_tests: nox {' '.join(nox_args)}", file=sys.stderr, flush=True)
        codes.append(subprocess.run([str(bindir / "nox"), "--no-color", *nox_args], cwd=ROOT, env=env).returncode)
    expected = ["shared", *packages, "repo"] if not args else sorted(p.stem for p in junit.glob("*.xml"))
    passed, failed, skipped, problems = summarize(junit, expected)
    for p in problems:
        print(f"run_tests: {p}", file=sys.stderr)
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    return 0 if failed == 0 and not problems and all(c == 0 for c in codes) else 1


if __name__ == "__main__":
    sys.exit(main())
