"""The README's Python quick start runs."""

import re
from pathlib import Path


def test_readme_quick_start_runs():
    text = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    code = re.search(r"## Quick start\n\n```python\n(.*?)```", text, re.S).group(1)
    code = code.replace("torch.randn(4, 3, 224, 224)", "torch.randn(2, 3, 64, 64)")  # smaller, same code path
    ns: dict = {}
    exec(compile(code, "README.md", "exec"), ns)
    assert ns["DF"].dasr(ns["t"]).tolist() == [0.0, 0.0, 1.0, 2.0]
    assert len(ns["daq"].daq_layers(ns["model"])) == 19
