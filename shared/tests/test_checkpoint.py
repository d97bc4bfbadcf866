import random

import numpy as np
import pytest
import torch

from cvcore.checkpoint import capture_rng, is_compatible, load_checkpoint, restore, restore_rng, save_checkpoint
from cvcore.errors import CheckpointError


def _setup(seed=0):
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Dropout(0.3), torch.nn.Linear(8, 2))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=3, gamma=0.5)
    return model, opt, sched


def _step(model, opt, sched):
    # the data and dropout masks come from the global RNGs, so resume must restore them
    x = torch.randn(16, 4) + float(np.random.rand()) + random.random()
    y = torch.randint(0, 2, (16,))
    loss = torch.nn.functional.cross_entropy(model(x), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    sched.step()


def test_resume_gives_the_same_weights_as_an_uninterrupted_run(tmp_path):
    torch.manual_seed(1), np.random.seed(1), random.seed(1)
    model, opt, sched = _setup()
    for _ in range(10):
        _step(model, opt, sched)
    reference = {k: v.clone() for k, v in model.state_dict().items()}

    torch.manual_seed(1), np.random.seed(1), random.seed(1)
    model, opt, sched = _setup()
    for _ in range(4):
        _step(model, opt, sched)
    save_checkpoint(tmp_path / "ck.pt", package="demo", version="0.1.0", model=model, optimizer=opt,
                    scheduler=sched, epoch=0, step=4, config={"lr": 0.01})
    for _ in range(3):  # wander off: RNGs and weights move on
        _step(model, opt, sched)

    model, opt, sched = _setup(seed=123)
    ck = load_checkpoint(tmp_path / "ck.pt", package="demo", version="0.1.3")
    restore(ck, model=model, optimizer=opt, scheduler=sched)
    assert ck["step"] == 4 and ck["config"] == {"lr": 0.01}
    for _ in range(6):
        _step(model, opt, sched)
    for k, v in model.state_dict().items():
        assert torch.equal(v, reference[k]), k


def test_rng_round_trip():
    state = capture_rng()
    a = (random.random(), np.random.rand(), torch.rand(1).item())
    restore_rng(state)
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == a


def test_truncated_file_is_a_clear_error(tmp_path):
    model, _, _ = _setup()
    p = save_checkpoint(tmp_path / "ck.pt", package="demo", version="0.1.0", model=model)
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated"):
        load_checkpoint(p)
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointError, match="truncated or not a torch checkpoint"):
        load_checkpoint(tmp_path / "junk.pt")
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(tmp_path / "nope.pt")


def test_other_package_other_version_and_foreign_files(tmp_path):
    model, _, _ = _setup()
    p = save_checkpoint(tmp_path / "ck.pt", package="ewgs", version="0.1.0", model=model)
    with pytest.raises(CheckpointError, match="package 'ewgs', not 'daq'"):
        load_checkpoint(p, package="daq")
    with pytest.raises(CheckpointError, match="incompatible"):
        load_checkpoint(p, package="ewgs", version="0.2.0")
    assert load_checkpoint(p, package="ewgs", version="0.2.0", strict_version=False)["version"] == "0.1.0"
    torch.save(model.state_dict(), tmp_path / "plain.pt")
    with pytest.raises(CheckpointError, match="not a cvcore checkpoint"):
        load_checkpoint(tmp_path / "plain.pt")


def test_restore_into_wrong_model_is_a_clear_error(tmp_path):
    model, _, _ = _setup()
    p = save_checkpoint(tmp_path / "ck.pt", package="demo", version="0.1.0", model=model)
    with pytest.raises(CheckpointError, match="does not fit"):
        restore(load_checkpoint(p), model=torch.nn.Linear(3, 3))
    with pytest.raises(CheckpointError, match="no optimizer state"):
        restore(load_checkpoint(p), model=model, optimizer=torch.optim.SGD(model.parameters(), lr=1))


def test_save_is_atomic_on_failure(tmp_path):
    model, _, _ = _setup()
    p = save_checkpoint(tmp_path / "ck.pt", package="demo", version="0.1.0", model=model)
    before = p.read_bytes()

    class Unpicklable:
        def __reduce__(self):
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        save_checkpoint(p, package="demo", version="0.1.0", model=model, extra={"bad": Unpicklable()})
    assert p.read_bytes() == before
    assert sorted(x.name for x in tmp_path.iterdir()) == ["ck.pt"]


@pytest.mark.parametrize(
    "saved, current, ok",
    [("0.1.0", "0.1.9", True), ("0.1.0", "0.2.0", False), ("1.2.0", "1.9.0", True), ("1.0.0", "2.0.0", False),
     ("garbage", "0.1.0", False)],
)
def test_is_compatible(saved, current, ok):
    assert is_compatible(saved, current) is ok


def test_ddp_wrapped_model_saves_plain_keys(tmp_path):
    model, _, _ = _setup()

    class Wrapper(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.module = m

    p = save_checkpoint(tmp_path / "ck.pt", package="demo", version="0.1.0", model=Wrapper(model))
    assert set(load_checkpoint(p)["model"]) == set(model.state_dict())


def test_pickled_objects_are_refused_with_weights_only(tmp_path):
    model, _, _ = _setup()
    p = save_checkpoint(tmp_path / "ck.pt", package="demo", version="0.1.0", model=model,
                        extra={"obj": torch.nn.ReLU()})
    with pytest.raises(CheckpointError, match="weights_only=False"):
        load_checkpoint(p)
    assert isinstance(load_checkpoint(p, weights_only=False)["extra"]["obj"], torch.nn.ReLU)


class _AuthorsNet(torch.nn.Module):  # stands for a class of some paper's code
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 2, 3)
        self.head = torch.nn.Sequential(torch.nn.Linear(2, 2))


def test_read_foreign_state_dict_plain_nested_and_pickled(tmp_path, monkeypatch):
    from cvcore.checkpoint import read_foreign_state_dict

    net = _AuthorsNet()
    ref = net.state_dict()
    torch.save({"module." + k: v for k, v in ref.items()}, tmp_path / "plain.pth")
    torch.save({"state_dict": ref, "epoch": 3}, tmp_path / "nested.pth")
    torch.save(torch.nn.DataParallel(net), tmp_path / "whole.pth")
    for name in ("plain.pth", "nested.pth"):
        got = read_foreign_state_dict(tmp_path / name)
        assert set(got) == set(ref) and all(torch.equal(got[k], ref[k]) for k in ref)
    with pytest.raises(CheckpointError, match="trust_pickle"):
        read_foreign_state_dict(tmp_path / "whole.pth")
    # the authors' class is not importable where the file is read: stand-ins take its place
    import sys
    import types

    fake = types.ModuleType("no_such_paper_code")
    authors_cls = type("AuthorsNet", (_AuthorsNet,), {"__module__": "no_such_paper_code"})
    fake.AuthorsNet = authors_cls
    monkeypatch.setitem(sys.modules, "no_such_paper_code", fake)
    obj = authors_cls()
    obj.load_state_dict(ref)
    torch.save(obj, tmp_path / "whole2.pth")
    monkeypatch.delitem(sys.modules, "no_such_paper_code")
    got = read_foreign_state_dict(tmp_path / "whole2.pth", trust_pickle=True)
    assert set(got) == set(ref) and all(torch.equal(got[k], ref[k]) for k in ref)
    (tmp_path / "trunc.pth").write_bytes((tmp_path / "plain.pth").read_bytes()[:50])
    with pytest.raises(CheckpointError, match="truncated"):
        read_foreign_state_dict(tmp_path / "trunc.pth")
    torch.save({"epoch": 3}, tmp_path / "empty.pth")
    with pytest.raises(CheckpointError, match="no model tensors"):
        read_foreign_state_dict(tmp_path / "empty.pth")
