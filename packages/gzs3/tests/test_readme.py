import re
from pathlib import Path

import gzs3


def test_public_api_resolves():
    for name in gzs3.__all__:
        assert getattr(gzs3, name) is not None


def test_readme_quick_start_runs():
    text = (Path(__file__).parents[1] / "README.md").read_text()
    block = re.search(r"## Quick start\n\n```python\n(.*?)```", text, re.S).group(1)
    block = block.replace("DeepLabV3PlusEncoder(num_classes=21)", "DeepLabV3PlusEncoder(num_classes=21, backbone='tiny')")
    block = block.replace("SemanticEncoder(300, 256)", "SemanticEncoder(300, 16)")
    ns: dict = {}
    exec(compile(block, "README quick start", "exec"), ns)  # noqa: S102
    assert ns["labels"].shape == (1, 128, 128) and ns["new"] == [21]
