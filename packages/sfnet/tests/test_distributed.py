"""``sfnet train`` under ``torchrun`` (2 processes, gloo on CPU): both ranks end with identical
trainable weights, rank 0 alone writes the run folder and reports. Slow: two fresh interpreters
import torch."""

import json

import pytest
import torch

from cvcore.testing import run_torchrun
from sfnet import __version__


@pytest.mark.slow
def test_torchrun_two_ranks_train_in_sync_and_write_once(tmp_path):
    out = tmp_path / "run"
    args = ["-m", "sfnet", "train", "--synthetic-demo",
           "--epochs", "2", "--batch-size", "2", "--device", "cpu", "--set", "optim.max_steps_per_epoch=2",
           "--set", "data.demo_images=8", "--set", "data.demo_size=96", "--set", "data.val_synthetic=2",
           "--output-dir", str(out), "-q"]
    proc = run_torchrun(args, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summaries = [json.loads(ln) for ln in proc.stdout.splitlines() if ln.startswith("{")]
    assert len(summaries) == 1, proc.stdout  # rank 0 only
    s = summaries[0]
    assert s["world_size"] == 2 and s["ranks_in_sync"] is True
    # the run folder is written once: one metrics line per epoch, one last.pt holding rank 0's weights
    log = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in log] == [1, 2]
    assert (out / "config.toml").is_file() and (out / "best_checkpoint.pt").is_file()
    assert not list(out.glob("*.tmp*"))
    from sfnet.engine.inference import load_model
    from sfnet.engine.train import weight_checksums

    model = load_model(out / "last.pt", version=__version__, device=torch.device("cpu"))
    assert float(weight_checksums(model).sum()) == pytest.approx(s["weight_checksum"], rel=1e-12)
