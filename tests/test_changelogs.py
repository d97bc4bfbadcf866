import re
import subprocess

import pytest
from _repo import ROOT, all_dirs


def _git(*args):
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)


def _unreleased(text: str) -> str:
    _, _, rest = text.partition("## Unreleased")
    m = re.search(r"^## \[", rest, re.M)
    return rest[: m.start()] if m else rest


@pytest.mark.parametrize("folder", all_dirs(), ids=lambda p: p.name)
def test_changelog_shape(folder):
    text = (folder / "CHANGELOG.md").read_text()
    assert text.startswith("# Changelog"), folder.name
    assert "## Unreleased" in text, f"{folder.name}: CHANGELOG.md has no '## Unreleased' section"
    for heading in re.findall(r"^## \[(.+?)\] - (\S+)", text, re.M):
        assert re.fullmatch(r"\d+\.\d+\.\d+", heading[0]) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", heading[1])


@pytest.mark.parametrize("folder", all_dirs(), ids=lambda p: p.name)
def test_src_changes_since_last_tag_have_a_changelog_line(folder):
    if _git("rev-parse", "--git-dir").returncode != 0:
        pytest.skip("not a git checkout")
    name = "cvcore" if folder.name == "shared" else folder.name
    tags = _git("tag", "--list", f"{name}-v*", "--sort=-v:refname").stdout.split()
    rel = folder.relative_to(ROOT)
    unreleased = _unreleased((folder / "CHANGELOG.md").read_text())
    if not tags:
        # never released: the first release's notes must already say something
        assert re.search(r"^- ", unreleased, re.M), f"{name}: unreleased package with an empty Unreleased section"
        return
    changed = _git("diff", "--name-only", f"{tags[0]}..HEAD", "--", f"{rel}/src").stdout.strip()
    changed += _git("diff", "--name-only", "HEAD", "--", f"{rel}/src").stdout.strip()
    if changed:
        assert re.search(r"^- ", unreleased, re.M), (
            f"{name}: src/ changed since {tags[0]} but the Unreleased section of CHANGELOG.md lists nothing"
        )
