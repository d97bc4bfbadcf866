"""DDP on CPU with gloo: two processes must end with the weights of one process that sees the
concatenated batch."""

import multiprocessing as mp
import os
import socket

import pytest
import torch

from cvcore import distributed as dist_utils


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _model():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.Tanh(), torch.nn.Linear(7, 3))


def _data():
    g = torch.Generator().manual_seed(1)
    return torch.randn(4, 8, 5, generator=g), torch.randint(0, 3, (4, 8), generator=g)


def _train(model, xs, ys):
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for x, y in zip(xs, ys):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    return model


def _worker(rank: int, world: int, port: int, out: str) -> None:
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank),
                      MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    info = dist_utils.init_distributed("cpu")
    assert info.distributed and info.rank == rank and dist_utils.get_world_size() == world
    xs, ys = _data()
    half = xs.shape[1] // world
    model = dist_utils.wrap_model(_model(), info)
    _train(model, xs[:, rank * half:(rank + 1) * half], ys[:, rank * half:(rank + 1) * half])
    mean = dist_utils.all_reduce_mean(torch.tensor(float(rank)))
    # manual gradient averaging (for GAN-style loops) equals the full-batch gradient too
    plain = _model()
    x, y = xs[0], ys[0]
    torch.nn.functional.cross_entropy(plain(x[rank * half:(rank + 1) * half]), y[rank * half:(rank + 1) * half]).backward()
    dist_utils.average_gradients(plain.parameters())
    grads = [p.grad.clone() for p in plain.parameters()]
    reduced = dist_utils.reduce_dict({"a": float(rank), "b": 1.0}, average=False)
    in_sync = dist_utils.parameter_divergence(model)
    drifted = _model()
    with torch.no_grad():
        drifted[0].weight[0, 0] += 0.25 * rank  # rank 1 moves one weight
    divergence = dist_utils.parameter_divergence(drifted.parameters())
    if dist_utils.is_main_process():
        torch.save({"state": model.module.state_dict(), "mean": mean, "reduced": reduced, "grads": grads,
                    "in_sync": in_sync, "divergence": divergence}, out)
    dist_utils.barrier()
    dist_utils.cleanup()


def test_single_process_helpers_are_identity():
    assert dist_utils.get_rank() == 0 and dist_utils.get_world_size() == 1 and dist_utils.is_main_process()
    t = torch.tensor([1.0, 2.0])
    assert torch.equal(dist_utils.all_reduce_mean(t), t)
    assert dist_utils.reduce_dict({"x": 2}) == {"x": 2.0}
    m = torch.nn.Linear(2, 2)
    assert dist_utils.wrap_model(m) is m
    assert dist_utils.make_sampler(list(range(4)), shuffle=True) is None
    assert dist_utils.parameter_divergence(m) == 0.0
    info = dist_utils.init_distributed("cpu")
    assert not info.distributed and info.device.type == "cpu"
    calls = []
    dist_utils.rank_zero_only(calls.append)(1)
    assert calls == [1]


def test_resolve_device_errors():
    assert dist_utils.resolve_device("cpu").type == "cpu"
    if not torch.cuda.is_available():
        from cvcore.errors import UserError

        with pytest.raises(UserError, match="no CUDA"):
            dist_utils.resolve_device("cuda")


def test_ddp_two_processes_equal_single_process_on_concatenated_batch(tmp_path):
    out = str(tmp_path / "ddp.pt")
    import torch._dynamo  # noqa: F401  (DDP imports it, slowly: do it once, before forking)

    ctx = mp.get_context("fork")
    port = _free_port()
    procs = [ctx.Process(target=_worker, args=(r, 2, port, out)) for r in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
    assert all(p.exitcode == 0 for p in procs), [p.exitcode for p in procs]
    result = torch.load(out, weights_only=True)
    xs, ys = _data()
    reference = _train(_model(), xs, ys).state_dict()
    for k, v in reference.items():
        torch.testing.assert_close(result["state"][k], v, rtol=1e-5, atol=1e-6)
    assert result["mean"].item() == pytest.approx(0.5)
    full = _model()
    torch.nn.functional.cross_entropy(full(xs[0]), ys[0]).backward()
    for g, p in zip(result["grads"], full.parameters()):
        torch.testing.assert_close(g, p.grad, rtol=1e-5, atol=1e-6)
    assert result["reduced"] == {"a": 1.0, "b": 2.0}
    assert result["in_sync"] == 0.0 and result["divergence"] == pytest.approx(0.25)


@pytest.mark.slow
def test_run_torchrun_launches_every_rank(tmp_path):
    from cvcore.testing import run_torchrun

    script = tmp_path / "rank.py"
    script.write_text("import os, pathlib\n"
                      "pathlib.Path(os.environ['OUT'], os.environ['RANK']).write_text(os.environ['WORLD_SIZE'])\n")
    r = run_torchrun([str(script)], nproc=2, env={"OUT": str(tmp_path)}, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert (tmp_path / "0").read_text() == (tmp_path / "1").read_text() == "2"
    bad = run_torchrun([str(tmp_path / "missing.py")], nproc=1, timeout=300)
    assert bad.returncode != 0


def test_is_main_process_follows_torchrun_rank_without_a_group(monkeypatch):
    """After the process group is destroyed (or before it exists) torchrun's RANK still decides."""
    monkeypatch.setenv("RANK", "1")
    assert not dist_utils.is_main_process()
    monkeypatch.setenv("RANK", "0")
    assert dist_utils.is_main_process()
    monkeypatch.delenv("RANK")
    assert dist_utils.is_main_process()
