import pytest
import torch

from isgan import ISGAN
from isgan.encoder import Encoder, band_pool


def test_tiny_shapes(tiny_model, batch):
    x, _ = batch
    out = tiny_model.encoder(x[:2])
    assert out.id_feat.shape == (2, 8 * 8) and len(out.id_parts) == 8
    assert all(z.shape == (2, 6) for z in out.logits)
    assert len(out.mu) == 8 and all(m.shape == (2, 4) for m in out.mu + out.logvar)
    assert out.nid_feat.shape == (2, 8 * 4)


def test_band_pool_equals_explicit_bands():
    x = torch.randn(2, 5, 24, 8)
    g, s0, s1, s2 = band_pool(x, 3, "max")
    torch.testing.assert_close(g, x.amax(dim=(2, 3)))
    torch.testing.assert_close(s1, x[:, :, 8:16].amax(dim=(2, 3)))
    a = band_pool(x, 2, "avg")
    torch.testing.assert_close(a[2], x[:, :, 12:].mean(dim=(2, 3)))
    with pytest.raises(ValueError, match="divisible"):
        band_pool(torch.randn(1, 1, 10, 4), 3, "max")


def test_branch_zero_map_is_half_the_size_and_stem_is_shared(tiny_model):
    enc = tiny_model.encoder
    s = enc.stem(torch.randn(1, 3, 192, 128))
    assert s.shape[2:] == (12, 8)
    assert enc.id_branches[0](s).shape[2:] == (6, 4)
    assert enc.id_branches[1](s).shape[2:] == (12, 8) == enc.nid_branches[2](s).shape[2:]
    # one stem object feeds both codes: gradients of the unrelated code reach it
    out = enc(torch.randn(2, 3, 192, 128))
    sum(m.sum() for m in out.mu).backward()
    assert enc.stem[0].weight.grad is not None and enc.stem[0].weight.grad.abs().sum() > 0
    assert enc.reductions[0][0].weight.grad is None


def test_eval_mode_uses_the_mean_code(tiny_model, batch):
    tiny_model.eval()
    out = tiny_model.encoder(batch[0][:2])
    torch.testing.assert_close(out.nid_feat, torch.cat(out.mu, 1))
    tiny_model.train()
    out2 = tiny_model.encoder(batch[0][:2])
    assert not torch.allclose(out2.nid_feat, torch.cat(out2.mu, 1))  # sampled


def test_bad_input_shape(tiny_model):
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\)"):
        tiny_model.encoder(torch.randn(3, 192, 128))
    with pytest.raises(ValueError, match="image size"):
        ISGAN(4, (200, 128), backbone="tiny")
    with pytest.raises(ValueError, match="image size"):
        ISGAN(4, (96, 32), backbone="tiny")


def test_small_demo_size_runs_end_to_end(tiny_kwargs):
    model = ISGAN(3, (96, 48), **tiny_kwargs).train()
    x = torch.randn(4, 3, 96, 48)
    out = model.encoder(x)
    fake = model.generator(out.id_feat, out.nid_feat, torch.tensor([0, 1, 2, 0]))
    patch, logits = model.discriminator(fake)
    assert fake.shape == x.shape and patch.shape == (4, 1, 4, 1) and logits.shape == (4, 3)
    assert model.discriminator.num_down == 4 and ISGAN(3, (192, 128), **tiny_kwargs).discriminator.num_down == 5


def test_full_size_parameter_counts_and_paper_shapes():
    """Spec §3: stem 2.96 M, E_R 67.39 M, E_U 63.75 M (C = 751), G 16.06 M, D 4.03 M."""
    model = ISGAN(751)
    enc = model.encoder
    count = lambda mods: sum(p.numel() for m in mods for p in m.parameters())  # noqa: E731
    assert count([enc.stem]) == pytest.approx(2.96e6, rel=2e-3)
    assert count(enc.identity_modules()) == pytest.approx(67.39e6, rel=1e-3)
    assert count(enc.unrelated_modules()) == pytest.approx(63.75e6, rel=1e-3)
    assert count([enc]) == pytest.approx(134.1e6, rel=1e-3)
    assert count([model.generator]) == pytest.approx(16.06e6, rel=1e-3)
    assert count([model.discriminator]) == pytest.approx(4.03e6, rel=2e-3)
    with torch.no_grad():
        model.eval()
        s = enc.stem(torch.randn(1, 3, 384, 128))
        assert s.shape == (1, 1024, 24, 8)
        assert enc.id_branches[0](s).shape == (1, 2048, 12, 4)
        assert enc.id_branches[1](s).shape == (1, 2048, 24, 8)


def test_resnet18_backbone_builds():
    enc = Encoder(5, "resnet18", feat_id=16, feat_nid=4)
    assert enc.width == 512 and enc.reductions[0][0].in_channels == 512
