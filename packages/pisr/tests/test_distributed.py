"""Training under two processes (gloo on CPU): the ranks end with identical weights and only rank 0
writes checkpoints and logs. Slow: fresh interpreters import torch."""

import json
import os
import socket

import numpy as np
import pytest
import torch

from cvcore.testing import run_torchrun


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pairs():
    rng = np.random.default_rng(0)
    out = []
    for _ in range(4):
        hr = rng.random((32, 32)).astype(np.float32)
        out.append((hr, hr[::2, ::2].copy()))
    return out


def _worker(rank, world, port, out):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world),
                      LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    from cvcore.distributed import cleanup
    from pisr.config import TrainConfig
    from pisr.data import PatchDataset
    from pisr.engine import distill, train_baseline, train_teacher

    data = PatchDataset(_pairs(), 2, 16, repeat=2)
    states = {}

    def cfg(name):
        return TrainConfig(scale=2, d=8, s=4, m=1, patch_size=16, batch_size=2, epochs=1, iters_per_epoch=2, seed=0,
                           device="cpu", num_workers=0, out_dir=os.path.join(out, name))

    teacher = train_teacher(cfg("teacher"), data)
    states["teacher"] = teacher.state_dict()
    states["student"] = distill(teacher, cfg("student"), data).state_dict()
    states["baseline"] = train_baseline(cfg("baseline"), data).state_dict()
    torch.save(states, os.path.join(out, f"rank{rank}.pt"))
    cleanup()


@pytest.mark.slow
def test_two_ranks_end_with_identical_weights_and_rank0_writes_once(tmp_path):
    torch.multiprocessing.spawn(_worker, args=(2, _free_port(), str(tmp_path)), nprocs=2, join=True)
    a = torch.load(tmp_path / "rank0.pt", weights_only=True)
    b = torch.load(tmp_path / "rank1.pt", weights_only=True)
    for stage in ("teacher", "student", "baseline"):
        assert a[stage].keys() == b[stage].keys()
        for k in a[stage]:
            assert torch.equal(a[stage][k], b[stage][k]), (stage, k)
        lines = (tmp_path / stage / "metrics.jsonl").read_text().strip().splitlines()
        assert len(lines) == 1, lines  # one epoch, logged by rank 0 only
        assert (tmp_path / stage / "last.pt").is_file()
    # the two ranks did train: the weights moved away from the seeded initialisation
    from pisr.models import FSRCNN

    torch.manual_seed(0)
    init = FSRCNN(2, 1, 8, 4, 1).state_dict()
    assert any(not torch.equal(init[k], a["baseline"][k]) for k in init)


@pytest.mark.slow
def test_torchrun_cli_train_baseline_two_steps(tmp_path):
    """`torchrun --standalone --nproc_per_node 2 -m pisr train-baseline ...` for 2 steps: exit 0, one log line."""
    from cvcore.data.replica import Replica

    r = Replica(tmp_path / "hr")
    rng = np.random.default_rng(1)
    for i in range(4):
        r.image(f"{i:04d}.png", rng.integers(0, 256, (32, 36, 3), dtype=np.uint8))
    out = tmp_path / "run"
    # widths through --set: torchrun's own parser would take "--d" as an abbreviation of its options
    proc = run_torchrun(["-m", "pisr", "train-baseline", "--hr-dir", str(r.root), "--output-dir", str(out), "--set", "d=8", "--set", "s=4", "--set", "m=1",
           "--epochs", "1", "--iters-per-epoch", "2", "--patch-size", "16", "--batch-size", "2", "--seed", "0",
           "--device", "cpu", "--threads", "1", "-q"], timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (out / "last.pt").is_file() and (out / "model.pt").is_file()
    assert len((out / "metrics.jsonl").read_text().strip().splitlines()) == 1
    summaries = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    assert summaries and all(s["kind"] == "baseline" for s in summaries)
