import json
import subprocess
import sys

import changed_packages
import new_package
import pytest
import release
from _repo import ROOT


def test_changed_packages_rules():
    pkgs = ["daq", "ewgs", "reid-relation"]
    assert changed_packages.select(["packages/ewgs/src/ewgs/x.py", "README.md"], pkgs) == ["ewgs"]
    assert changed_packages.select(["packages/reid-relation/tests/t.py", "packages/daq/README.md"], pkgs) == [
        "daq", "reid-relation"]
    for glob in ("shared/src/cvcore/cli.py", "tools/release.py", "constraints/ci.txt", ".ci/run", "noxfile.py"):
        assert changed_packages.select([glob], pkgs) == ["shared", *pkgs]
    assert changed_packages.select(["docs/x.md"], pkgs) == []
    with pytest.raises(ValueError, match="unknown package"):
        changed_packages.select(["packages/nope/x.py"], pkgs)


def test_changed_packages_cli_json(capsys):
    assert changed_packages.main(["--json", "packages/ewgs/README.md"]) == 0
    assert json.loads(capsys.readouterr().out) == ["ewgs"]


@pytest.mark.parametrize("old, part, new", [("0.1.0", "patch", "0.1.1"), ("0.1.3", "minor", "0.2.0"),
                                            ("0.9.9", "major", "1.0.0")])
def test_bump(old, part, new):
    assert release.bump(old, part) == new
    text, o, n = release.rewrite_version(f'[project]\nname = "x"\nversion = "{old}"\n', part)
    assert (o, n) == (old, new) and f'version = "{new}"' in text


def test_release_changelog_rewrite_and_tags():
    text = "# Changelog — x\n\n## Unreleased\n### Added\n- New thing.\n### Fixed\n\n## [0.1.0] - 2026-01-01\n- First.\n"
    out = release.rewrite_changelog(text, "0.2.0", "2026-12-01")
    assert out.index("## Unreleased") < out.index("## [0.2.0] - 2026-12-01") < out.index("- New thing.") < out.index(
        "## [0.1.0]")
    assert "### Fixed" not in out  # empty headings are dropped from the release
    with pytest.raises(ValueError, match="nothing to release"):
        release.rewrite_changelog("# Changelog\n\n## Unreleased\n### Added\n", "0.1.1", "2026-12-01")
    assert release.tag_name("shared", "0.3.1") == "cvcore-v0.3.1"
    assert release.tag_name("ewgs", "0.2.0") == "ewgs-v0.2.0"


def test_release_end_to_end_in_a_scratch_repo(tmp_path):
    pkg = tmp_path / "packages" / "demo"
    pkg.mkdir(parents=True)
    (pkg / "pyproject.toml").write_text('[project]\nname = "demo"\nversion = "0.1.0"\n')
    (pkg / "CHANGELOG.md").write_text("# Changelog — demo\n\n## Unreleased\n### Added\n- Something.\n")
    git = lambda *a: subprocess.run(["git", *a], cwd=tmp_path, check=True, capture_output=True, text=True)  # noqa: E731
    git("init", "-q")
    git("-c", "user.name=t", "-c", "user.email=t@t", "add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "init")
    env_root = release.ROOT
    release.ROOT = tmp_path
    try:
        import os

        os.environ.setdefault("GIT_AUTHOR_NAME", "t")
        os.environ.setdefault("GIT_AUTHOR_EMAIL", "t@t")
        os.environ.setdefault("GIT_COMMITTER_NAME", "t")
        os.environ.setdefault("GIT_COMMITTER_EMAIL", "t@t")
        assert release.main(["demo", "minor", "--skip-tests", "--date", "2026-12-01"]) == 0
    finally:
        release.ROOT = env_root
    assert 'version = "0.2.0"' in (pkg / "pyproject.toml").read_text()
    assert "## [0.2.0] - 2026-12-01" in (pkg / "CHANGELOG.md").read_text()
    assert git("tag", "--list").stdout.split() == ["demo-v0.2.0"]


def test_new_package_scaffold(tmp_path):
    (tmp_path / "packages").mkdir()
    (tmp_path / "LICENSE").write_text("MIT")
    dest = new_package.scaffold("my-paper", "My paper (X 2030) in PyTorch", root=tmp_path)
    assert (dest / "src" / "my_paper" / "cli.py").is_file()
    text = (dest / "pyproject.toml").read_text()
    assert 'name = "my-paper"' in text and 'my-paper = "my_paper.cli:main"' in text
    import tomllib

    meta = tomllib.loads(text)
    assert meta["dependency-groups"]["test"] and meta["tool"]["tox"]
    compile((dest / "src" / "my_paper" / "cli.py").read_text(), "cli.py", "exec")
    with pytest.raises(FileExistsError):
        new_package.scaffold("my-paper", "again", root=tmp_path)
    with pytest.raises(ValueError):
        new_package.scaffold("Bad_Name", "x", root=tmp_path)


def test_fetch_test_data_script_is_valid_bash():
    assert subprocess.run(["bash", "-n", str(ROOT / "tools" / "fetch_test_data.sh")]).returncode == 0


def test_check_local_install_reports_a_foreign_cvcore(tmp_path, monkeypatch):
    import check_local_install

    fake = tmp_path / "site" / "cvcore"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    sys.modules.pop("cvcore", None)
    try:
        problems = check_local_install.check("shared")
    finally:
        sys.modules.pop("cvcore", None)
    assert problems and "not from" in problems[0]
