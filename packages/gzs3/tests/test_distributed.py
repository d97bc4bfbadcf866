"""``gzs3 train`` under ``torchrun --standalone --nproc_per_node 2`` (CPU, gloo). Slow: two fresh
interpreters import torch."""

import json

import pytest
import torch

from cvcore.testing import run_torchrun


@pytest.mark.slow
def test_torchrun_two_ranks_identical_weights_one_checkpoint(tmp_path):
    out = tmp_path / "ddp"
    args = ["-m", "gzs3", "train", "--preset", "synthetic_tiny",
           "--device", "cpu", "--no-eval", "--output-dir", str(out),
           "--set", "optim.epochs=1", "--set", "optim.max_steps_per_epoch=2", "--set", "optim.batch_size=4",
           "--set", "data.synthetic_train=8", "--set", "data.synthetic_size=32", "--set", "model.width=8"]
    r = run_torchrun(args, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]  # torchrun exits 0 only if both ranks did
    reports = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
    assert len(reports) == 1  # rank 0 reports, rank 1 stays quiet
    rep = reports[0]
    assert rep["world_size"] == 2
    assert rep["ddp_max_param_diff"] == 0.0  # both ranks end with bit-identical parameters
    assert sorted(p.name for p in out.iterdir()) == ["config.toml", "last.pt", "metrics.json", "train_log.jsonl"]
    assert len((out / "train_log.jsonl").read_text().splitlines()) == 1  # one epoch, logged once
    ck = torch.load(out / "last.pt", weights_only=True)
    assert ck["epoch"] == 1 and torch.isfinite(torch.tensor(ck["extra"]["history"][0]["loss"]))
    # 2 steps were taken: SGD momentum buffers exist, Adam counted exactly 2 steps
    assert all(float(s["step"]) == 2.0 for s in ck["optimizer"]["adam"]["state"].values())
