"""``train`` under two processes (gloo on CPU, the environment torchrun sets): the ranks keep one
memory (items identical after every step) and rank 0 writes the checkpoint. Slow: two fresh
interpreters import torch."""

import os
import socket

import pytest
import torch


def _worker(rank, world, port, out):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world),
                      LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    from cvcore.distributed import cleanup
    from mnad import TrainConfig, train
    from mnad.synthetic import make_dataset

    data = make_dataset(n_train=2, n_test=0, length=12, size=16, seed=0)
    cfg = TrainConfig(width=2, size=16, num_items=4, epochs=1, batch_size=2, seed=0, num_workers=0, device="cpu")
    result = train(cfg, data.train_set(5), output_dir=out)
    torch.save(result.items, os.path.join(out, f"items_{rank}.pt"))
    cleanup()


@pytest.mark.slow
def test_two_process_training_keeps_one_memory(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    torch.multiprocessing.spawn(_worker, args=(2, port, str(tmp_path)), nprocs=2, join=True)
    a = torch.load(tmp_path / "items_0.pt", weights_only=True)
    b = torch.load(tmp_path / "items_1.pt", weights_only=True)
    assert torch.equal(a, b)
    torch.testing.assert_close(a.norm(dim=1), torch.ones(4))
    ck = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    assert ck["step"] == (2 * 8) // (2 * 2)  # 16 samples over 2 ranks, batch 2 per rank
