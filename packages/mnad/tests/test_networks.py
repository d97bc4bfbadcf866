"""Architecture: shapes, full-size parameter counts (spec Sec. 4), gradient paths."""

import pytest
import torch

from mnad.models import MNADPredictor, MNADReconstructor, build_model


def n_params(m):
    return sum(p.numel() for p in m.parameters())


def test_full_size_parameter_counts():
    assert n_params(MNADPredictor()) == 15_650_819
    assert n_params(MNADPredictor(compat="official")) == 15_651_843  # + unused BatchNorm2d(512)
    assert n_params(MNADPredictor(use_memory=False, compat="official")) == 13_292_547
    assert n_params(MNADPredictor(use_memory=False)) == 13_292_547 - 1024
    assert n_params(MNADReconstructor(compat="official")) == 17_196_291
    m = MNADPredictor()
    assert m.memory.items.shape == (10, 512) and m.feature_dim == 512


def test_shapes_tiny():
    m = MNADPredictor(width=8)
    out = m(torch.randn(2, 12, 64, 64), update_memory=True)
    assert out.frame.shape == (2, 3, 64, 64)
    assert out.z.shape == (2, 128, 8, 8) and out.query.shape == (2 * 64, 64)
    assert out.frame.abs().max() <= 1.0
    r = MNADReconstructor(width=8)
    assert r(torch.randn(2, 3, 64, 64)).frame.shape == (2, 3, 64, 64)
    nm = MNADPredictor(width=8, use_memory=False)
    o = nm(torch.randn(1, 12, 32, 32))
    assert o.frame.shape == (1, 3, 32, 32) and o.items is None and float(o.compactness) == 0.0


def test_items_not_optimised_and_updated_by_forward():
    m = MNADPredictor(width=4, num_items=5)
    assert all(p is not m.memory.items for p in m.parameters())
    before = m.memory.items.clone()
    out = m(torch.randn(2, 12, 32, 32), update_memory=True)
    loss = out.frame.mean() + out.compactness + out.separateness
    loss.backward()
    assert not torch.equal(before, m.memory.items)
    assert m.encoder.enc1[0].weight.grad is not None
    m2 = MNADPredictor(width=4, num_items=5)
    b2 = m2.memory.items.clone()
    m2(torch.randn(2, 12, 32, 32), update_memory=False)
    assert torch.equal(b2, m2.memory.items)


def test_memory_losses_reach_encoder():
    m = MNADPredictor(width=4, num_items=5)
    out = m(torch.randn(2, 12, 32, 32))
    (out.compactness + out.separateness).backward()
    assert torch.count_nonzero(m.encoder.enc4[3].weight.grad) > 0
    assert all(p.grad is None for p in m.decoder.parameters())  # losses act on the encoder only


def test_bad_inputs():
    m = MNADPredictor(width=4)
    with pytest.raises(ValueError, match="divisible by 8"):
        m(torch.randn(1, 12, 30, 32))
    with pytest.raises(ValueError, match="expected input"):
        m(torch.randn(1, 3, 32, 32))
    with pytest.raises(ValueError):
        build_model("gan")
    with pytest.raises(ValueError):
        build_model("pred", t_length=1)
    assert build_model("recon", width=4).variant == "recon"
