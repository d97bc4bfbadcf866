"""Slow tier: scikit-learn digits convergence (spec §11.17) and the `python -m ewgs` smoke test."""

import copy
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F

import ewgs

pytestmark = pytest.mark.slow


def _digits():
    datasets = pytest.importorskip("sklearn.datasets")
    d = datasets.load_digits()
    x = torch.tensor(d.images, dtype=torch.float32).unsqueeze(1) / 16.0
    y = torch.tensor(d.target, dtype=torch.int64)
    perm = torch.randperm(len(y), generator=torch.Generator().manual_seed(0))
    x, y = x[perm], y[perm]
    x = (x - x[:1437].mean()) / x[:1437].std()
    return x[:1437], y[:1437], x[1437:], y[1437:]


def _train(model, x, y, epochs, lr, updater=None):
    groups = ewgs.param_groups(model, lr)
    opt_m = torch.optim.Adam(groups[0]["params"], lr=lr, weight_decay=1e-4)
    opt_q = torch.optim.Adam(groups[1]["params"], lr=1e-3) if groups[1]["params"] else None
    gen = torch.Generator().manual_seed(1)
    for epoch in range(epochs):
        if updater is not None:
            perm = torch.randperm(len(y), generator=gen)
            updater.on_epoch_start(epoch, [(x[perm[i:i + 64]], y[perm[i:i + 64]]) for i in range(0, 256, 64)])
        model.train()
        perm = torch.randperm(len(y), generator=gen)
        for i in range(0, len(y), 32):
            idx = perm[i:i + 32]
            loss = F.cross_entropy(model(x[idx]), y[idx])
            assert torch.isfinite(loss)
            opt_m.zero_grad()
            if opt_q:
                opt_q.zero_grad()
            loss.backward()
            opt_m.step()
            if opt_q:
                opt_q.step()


@torch.no_grad()
def _acc(model, x, y):
    model.eval()
    return 100.0 * float((model(x).argmax(1) == y).float().mean())


def test_digits_fp_w2a2_w1a1():
    xtr, ytr, xte, yte = _digits()
    fp = ewgs.models.small_net(None, None, width=16)
    _train(fp, xtr, ytr, 5, 3e-3)
    acc_fp = _acc(fp, xte, yte)
    assert acc_fp >= 95.0
    for bits, floor in ((2, 90.0), (1, 75.0)):
        q = ewgs.quantize_model(copy.deepcopy(fp), bits, bits)
        ewgs.initialize(q, xtr[:256])
        up = ewgs.HessianScaleUpdater(q, F.cross_entropy, num_batches=3, max_iter=10, every_epochs=1)
        _train(q, xtr, ytr, 5, 1e-3, up)
        assert _acc(q, xte, yte) >= floor, (bits, _acc(q, xte, yte))


def test_python_m_ewgs_help():
    out = subprocess.run([sys.executable, "-m", "ewgs", "--help"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and "train" in out.stdout and "demo" in out.stdout
