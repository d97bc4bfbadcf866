"""``hvpr train`` under ``torchrun --nproc_per_node 2`` (gloo on CPU): both ranks finish with identical weights,
only rank 0 writes the checkpoint and the log. Slow: two fresh interpreters import torch."""

from __future__ import annotations

import json

import pytest
import torch

from cvcore.testing import run_torchrun
from hvpr.cli import main


@pytest.mark.slow
def test_torchrun_two_processes(tmp_path):
    data, out = tmp_path / "data", tmp_path / "run"
    assert main(["synth", "--output-dir", str(data), "--num-train", "4", "--num-val", "0", "--seed", "3"]) == 0
    assert main(["make-infos", "--data-root", str(data), "--splits", "train", "--no-gt-database"]) == 0
    args = ["-m", "hvpr", "train", "--config", "tiny_synthetic",
           "--set", "data.num_points_train=1024", "--set", "data.voxel_backend='torch'", "--data-root", str(data),
           "--output-dir", str(out), "--max-iters", "2", "--val-split", "", "--log-every", "1", "--device", "cpu",
           "--threads", "1", "-q"]
    proc = run_torchrun(args, cwd=tmp_path, env={"CVCORE_QUIET": "1"}, timeout=1500)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = [json.loads(x) for x in proc.stdout.splitlines() if x.startswith("{")]
    assert len(result) == 1 and result[0]["steps"] == 2  # printed once (rank 0)
    assert result[0]["max_rank_weight_diff"] == 0.0  # both ranks hold the same weights
    log = [json.loads(x) for x in (out / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log if r["kind"] == "train"] == [1, 2]  # logged once per step
    ddp = [r for r in log if r["kind"] == "ddp"]
    assert len(ddp) == 1 and ddp[0]["world_size"] == 2 and ddp[0]["max_rank_weight_diff"] == 0.0
    assert sorted(p.name for p in out.iterdir()) == ["config.toml", "last.pt", "log.jsonl", "train.json"]
    ck = torch.load(out / "last.pt", weights_only=True)
    assert ck["step"] == 2 and ck["extra"]["world_size"] == 2
