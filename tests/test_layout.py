import ast
import re

import pytest
from _repo import ROOT, all_dirs, import_name, package_dirs, pyproject

EXPECTED_PACKAGES = {"daq", "ewgs", "bap", "hvpr", "pisr", "mnad", "sfnet", "isgan", "reid-relation", "gzs3"}
TOP_LEVEL = {"packages", "shared", "tools", "tests", "noxfile.py", "README.md", "LICENSE", "pyproject.toml", "constraints"}


def _tracked_top_level() -> set[str]:
    import subprocess

    res = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True)
    if res.returncode != 0:  # not a checkout: look at the folder itself
        return {p.name for p in ROOT.iterdir()}
    return {line.split("/", 1)[0] for line in res.stdout.splitlines() if line}


def test_top_level_entries():
    entries = {name for name in _tracked_top_level() if not name.startswith(".")}
    assert entries <= TOP_LEVEL, f"unexpected top-level entries: {sorted(entries - TOP_LEVEL)}"
    assert {"packages", "shared", "tools", "tests", "noxfile.py", "README.md", "LICENSE"} <= entries


def test_only_known_packages():
    names = {p.name for p in package_dirs()}
    assert names <= EXPECTED_PACKAGES, sorted(names - EXPECTED_PACKAGES)


def test_root_pyproject_is_not_a_distribution():
    import tomllib

    assert "project" not in tomllib.loads((ROOT / "pyproject.toml").read_text())


@pytest.mark.parametrize("folder", all_dirs(), ids=lambda p: p.name)
def test_package_anatomy(folder):
    mod = import_name(folder)
    for rel in ("pyproject.toml", "README.md", "CHANGELOG.md", "LICENSE", "tests", f"src/{mod}/__init__.py",
                f"src/{mod}/py.typed"):
        assert (folder / rel).exists(), f"{folder.name}: missing {rel}"
    assert list((folder / "tests").glob("test_*.py")), f"{folder.name}: no test files"
    meta = pyproject(folder)
    project = meta["project"]
    expected = "cvcore" if folder.name == "shared" else folder.name
    assert project["name"] == expected
    assert re.fullmatch(r"\d+\.\d+\.\d+", project["version"])
    assert "test" in meta.get("dependency-groups", {}), f"{folder.name}: no [dependency-groups] test"
    assert "tox" in meta.get("tool", {}), f"{folder.name}: no [tool.tox] table"
    if folder.name != "shared":
        assert project["scripts"] == {folder.name: f"{mod}.cli:main"}
        assert (folder / "src" / mod / "__main__.py").is_file()
        assert (folder / "src" / mod / "cli.py").is_file()


@pytest.mark.parametrize("folder", all_dirs(), ids=lambda p: p.name)
def test_version_lives_only_in_pyproject(folder):
    mod = import_name(folder)
    init = (folder / "src" / mod / "__init__.py").read_text()
    dist = "cvcore" if folder.name == "shared" else folder.name
    assert re.search(rf'__version__\s*=\s*_?version\(\s*"{re.escape(dist)}"\s*\)', init), (
        f"{folder.name}: __version__ must be importlib.metadata.version({dist!r})"
    )
    version = pyproject(folder)["project"]["version"]
    for py in (folder / "src").rglob("*.py"):
        assert f'"{version}"' not in py.read_text() or py.name != "__init__.py", f"hard-coded version in {py}"


@pytest.mark.parametrize("folder", package_dirs(), ids=lambda p: p.name)
def test_shared_dependency_range_matches_local_shared(folder):
    shared_version = pyproject(ROOT / "shared")["project"]["version"]
    major, minor, _ = (int(x) for x in shared_version.split("."))
    deps = pyproject(folder)["project"]["dependencies"]
    cv = [d for d in deps if re.match(r"cvcore\b", d)]
    assert cv, f"{folder.name} does not depend on cvcore"
    upper = f"{major}.{minor + 1}" if major == 0 else f"{major + 1}"
    assert cv[0].replace(" ", "") == f"cvcore>={major}.{minor},<{upper}", cv[0]


def _imports(path):
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module.split(".")[0]


@pytest.mark.parametrize("folder", all_dirs(), ids=lambda p: p.name)
def test_no_package_imports_another_paper_package(folder):
    papers = {import_name(p) for p in package_dirs()}
    own = import_name(folder)
    for py in [*(folder / "src").rglob("*.py"), *(folder / "tests").rglob("*.py")]:
        bad = (set(_imports(py)) & papers) - {own}
        assert not bad, f"{py.relative_to(ROOT)} imports {sorted(bad)}"


def test_readme_table_lists_every_package():
    readme = (ROOT / "README.md").read_text()
    for folder in package_dirs():
        version = pyproject(folder)["project"]["version"]
        row = [line for line in readme.splitlines() if line.startswith("|") and f"`{folder.name}`" in line]
        assert row, f"README table has no row for {folder.name}"
        assert version in row[0], f"README row of {folder.name} does not show version {version}"
    assert "`cvcore`" in readme


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```(?:bash|sh)\n(.*?)```", readme, re.S)
    assert blocks, "README has no command block"
    first = [line for line in blocks[0].splitlines() if line.strip() and not line.startswith("#")]
    assert len(first) == 2, f"the README must start with exactly two commands, got {first}"
    ci = (ROOT / ".ci" / "run").read_text()
    assert first[1].strip() in ci, f"the README's test command {first[1]!r} does not appear in .ci/run"
