"""``isgan train`` under ``torchrun --standalone --nproc_per_node 2`` (CPU, gloo). Slow: two fresh
interpreters import torch."""

import json

import pytest
import torch

from cvcore.testing import run_torchrun


@pytest.mark.slow
def test_torchrun_two_ranks_identical_weights_one_set_of_checkpoints(tmp_path):
    out = tmp_path / "ddp"
    args = ["-m", "isgan", "train", "--stage", "all",
           "--dataset", "synthetic", "--output-dir", str(out), "--device", "cpu", "--height", "96", "--width", "48",
           "--backbone", "tiny", "--epochs-stage1", "1", "--epochs-stage2", "1", "--epochs-stage3", "1",
           "--steps-per-epoch", "2", "--seed", "0", "-q",
           "--set", "model.feat_id=8", "--set", "model.feat_nid=4", "--set", "model.noise_dim=8",
           "--set", "model.g_width=4", "--set", "model.d_width=4", "--set", "ids_per_batch=2",
           "--set", "images_per_id=2"]
    r = run_torchrun(args, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]  # torchrun exits 0 only if both ranks did
    reports = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
    assert len(reports) == 1  # rank 0 reports, rank 1 stays quiet
    rep = reports[0]
    assert rep["world_size"] == 2
    assert rep["ddp_max_param_diff"] == 0.0  # gradients averaged: bit-identical parameters on both ranks
    names = sorted(p.name for p in out.glob("*.pt"))
    assert names == ["isgan_stage1_001.pt", "isgan_stage2_001.pt", "isgan_stage3_001.pt", "last.pt"]
    lines = (out / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == 3  # one epoch per stage, logged once (rank 0)
    assert all(json.loads(line)["steps"] == 2 for line in lines)
    ck = torch.load(out / "isgan_stage3_001.pt", weights_only=True)
    assert ck["extra"]["stage"] == 3
    # Adam counted exactly the 2 stage-3 steps (one optimiser per stage)
    assert all(float(s["step"]) == 2.0 for s in ck["optimizer"]["state"].values())
