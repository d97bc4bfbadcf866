"""``ewgs train`` under ``torchrun --standalone --nproc_per_node 2`` (gloo on CPU), 2 steps with a
Hessian δ update between them: both ranks end with identical weights, quantizer parameters and δ,
rank 0 writes the checkpoint and the logs once. Slow: torchrun starts two fresh interpreters that import torch."""

import json
import textwrap

import pytest
import torch

from cvcore.testing import run_torchrun

pytestmark = pytest.mark.slow

# 32 synthetic 28×28 images, batch 16 per rank × 2 ranks = 1 step per epoch; 2 epochs; δ updated at epoch 1
ARGS = ["train", "--dataset", "synthetic", "--arch", "small", "--width", "4", "--batch-size", "16",
        "--set", "data.synthetic_size=32", "--set", "data.test_batch_size=32", "--w-bits", "2", "--a-bits", "2",
        "--epochs", "2", "--update-every", "1", "--hessian-batches", "1", "--max-iter", "3", "--device", "cpu",
        "--seed", "0", "-q"]

# same entry point as ``-m ewgs`` (ewgs.cli.main), plus a dump of each rank's final weights
RUNNER = textwrap.dedent("""
    import importlib, os, sys
    import torch
    from ewgs.cli import main

    T = importlib.import_module("ewgs.engine.train")  # the module (ewgs.engine re-exports the function)

    built = []
    _build = T.build_model
    T.build_model = lambda *a, **k: built.append(_build(*a, **k)) or built[-1]
    rc = main(sys.argv[1:])
    torch.save(built[0].state_dict(), os.path.join(os.environ["EWGS_RANK_DIR"], f"rank{os.environ['RANK']}.pt"))
    sys.exit(rc)
""")


def _torchrun(target, out, env_extra=None, extra_args=()):
    proc = run_torchrun([*target, *ARGS, *extra_args, "--output-dir", str(out)], env=env_extra)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def test_torchrun_module_train_two_steps_writes_once(tmp_path):
    out = tmp_path / "run"
    proc = _torchrun(["-m", "ewgs"], out)
    assert (out / "last.pt").is_file() and (out / "best.pt").is_file() and (out / "config.toml").is_file()
    lines = (out / "metrics.jsonl").read_text().strip().splitlines()
    assert len(lines) == 2, lines  # one line per epoch: rank 0 only
    hist = json.loads((out / "metrics.json").read_text())["history"]
    assert "hutchinson_samples" in hist[1] and "hutchinson_samples" not in hist[0]
    assert len([ln for ln in proc.stdout.splitlines() if ln.startswith("{")]) >= 1
    assert not list(out.glob("*.tmp*"))  # atomic writes left nothing half-written


def test_torchrun_ranks_end_with_identical_weights_and_deltas(tmp_path):
    runner = tmp_path / "runner.py"
    runner.write_text(RUNNER)
    from ewgs.cli import main

    fp = tmp_path / "fp"  # short in-process FP warm-up, so that the Hessian traces (and δ) are positive
    assert main(["train", "--dataset", "synthetic", "--arch", "small", "--width", "4", "--batch-size", "32",
                 "--set", "data.synthetic_size=192", "--set", "data.test_batch_size=64", "-q", "--w-bits", "32",
                 "--a-bits", "32", "--epochs", "3", "--optimizer", "sgd", "--lr", "0.05", "--output-dir", str(fp)]) == 0
    out, ranks = tmp_path / "run", tmp_path / "ranks"
    ranks.mkdir()
    _torchrun([str(runner)], out, {"EWGS_RANK_DIR": str(ranks)}, ["--pretrained", str(fp / "last.pt")])
    a = torch.load(ranks / "rank0.pt", weights_only=True)
    b = torch.load(ranks / "rank1.pt", weights_only=True)
    assert a.keys() == b.keys()
    # BatchNorm running statistics are per rank after the last step (plain DDP broadcasts rank 0's
    # buffers before every forward, then each rank updates them from its own half-batch); rank 0's
    # are the ones saved. Everything else (weights, quantizer bounds, α, δ, init flags) is common.
    per_rank = [k for k in a if k.endswith(("running_mean", "running_var"))]
    assert per_rank
    for k in a:
        if k not in per_rank:
            assert torch.equal(a[k], b[k]), k
    deltas = [a[k] for k in a if k.endswith(("delta_w", "delta_a"))]
    assert deltas and any(float(d) != 0.0 for d in deltas)  # the rank-0 Hessian update reached both ranks
    from cvcore.checkpoint import load_checkpoint

    ck = load_checkpoint(out / "last.pt", package="ewgs")
    for k, v in ck["model"].items():
        assert torch.equal(v, a[k]), k  # the checkpoint rank 0 wrote holds the common weights
