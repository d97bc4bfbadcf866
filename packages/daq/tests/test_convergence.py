"""slow: scikit-learn digits (1,437/360 seeded split), FP -> W2A2 and W1A1 DAQ (spec §11.18)."""

import copy

import pytest
import torch
import torch.nn.functional as F

import daq
from daq.models import small_net

pytestmark = pytest.mark.slow


def _digits():
    sklearn = pytest.importorskip("sklearn.datasets")
    d = sklearn.load_digits()
    x = torch.tensor(d.images, dtype=torch.float32).unsqueeze(1) / 16.0
    x = (x - x.mean()) / x.std()
    y = torch.tensor(d.target)
    idx = torch.randperm(len(y), generator=torch.Generator().manual_seed(0))
    return (x[idx[:1437]], y[idx[:1437]]), (x[idx[1437:]], y[idx[1437:]])


def _run(model, data, epochs, lr, seed):
    x, y = data
    g = torch.Generator().manual_seed(seed)
    mg, qg = daq.param_groups(model, lr, 1e-3)
    opts = [torch.optim.SGD(mg["params"], lr=lr, momentum=0.9, weight_decay=1e-4)]
    if qg["params"]:
        opts.append(torch.optim.Adam(qg["params"], lr=1e-3))
    model.train()
    for _ in range(epochs):
        for i in torch.randperm(len(y), generator=g).split(64):
            loss = F.cross_entropy(model(x[i]), y[i])
            assert torch.isfinite(loss)
            for o in opts:
                o.zero_grad()
            loss.backward()
            for o in opts:
                o.step()


@torch.no_grad()
def _acc(model, data):
    model.eval()
    x, y = data
    return 100.0 * (model(x).argmax(1) == y).float().mean().item()


def _experiment():
    torch.manual_seed(0)
    train, test = _digits()
    fp = small_net(None, None, width=16)
    _run(fp, train, 5, 0.05, 0)
    out = {"fp": _acc(fp, test)}
    for bits in (2, 1):
        q = small_net(bits, bits, width=16)
        q.load_state_dict(copy.deepcopy(fp.state_dict()), strict=False)
        _run(q, train, 5, 0.01, 1)
        out[f"w{bits}a{bits}"] = _acc(q, test)
    return out


def test_digits_fp_w2a2_w1a1_and_determinism():
    a = _experiment()
    assert a["fp"] >= 95.0 and a["w2a2"] >= 90.0 and a["w1a1"] >= 75.0, a
    assert _experiment() == a
