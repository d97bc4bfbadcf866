import math

import pytest
import torch
import torch.nn.functional as F

from isgan.losses import (
    ISGANLoss,
    LossWeights,
    discriminator_loss,
    generator_adversarial_terms,
    identity_loss,
    kl_standard_normal,
    reconstruction_loss,
)


def test_kl_closed_form_on_hand_values():
    mu = [torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 2.0]])]
    lv = [torch.tensor([[0.0, math.log(2.0)]]), torch.tensor([[0.0, 0.0]])]
    head1 = 0.5 * (1 + 1 - 0 - 1) + 0.5 * (0 + 2 - math.log(2) - 1)
    head2 = 0.5 * (0 + 1 - 0 - 1) + 0.5 * (4 + 1 - 0 - 1)
    assert float(kl_standard_normal(mu, lv)) == pytest.approx((head1 + head2) / 2)
    zero = [torch.zeros(3, 4)] * 8
    assert float(kl_standard_normal(zero, zero)) == 0.0


def test_identity_and_reconstruction_losses():
    logits = [torch.randn(4, 5) for _ in range(8)]
    y = torch.tensor([0, 1, 2, 3])
    manual = sum(F.cross_entropy(z, y) for z in logits) / 8
    torch.testing.assert_close(identity_loss(logits, y), manual)
    x = torch.randn(2, 3, 4, 4)
    fakes = [torch.tanh(x), torch.zeros_like(x), torch.ones_like(x)]
    t = torch.tanh(x)
    expected = 0 + t.abs().mean() + (1 - t).abs().mean()
    torch.testing.assert_close(reconstruction_loss(fakes, t), expected)


def test_discriminator_loss_manual_sum_with_fixed_targets():
    torch.manual_seed(5)
    real = (torch.rand(2, 1, 4, 2), torch.randn(2, 3))
    fakes = [(torch.rand(2, 1, 4, 2), torch.randn(2, 3)) for _ in range(3)]
    y = torch.tensor([1, 2])
    torch.manual_seed(9)
    got = discriminator_loss(real, fakes, y)
    torch.manual_seed(9)  # the same targets, drawn in the same order
    t_real = torch.empty_like(real[0]).uniform_(0.7, 1.0)
    expected = F.binary_cross_entropy(real[0], t_real)
    cls = F.cross_entropy(real[1], y)
    for p, lg in fakes:
        expected = expected + F.binary_cross_entropy(p, torch.empty_like(p).uniform_(0.0, 0.3))
        cls = cls + F.cross_entropy(lg, y)
    torch.testing.assert_close(got, expected + 0.5 * cls)


def test_stage_totals_use_the_section_5_weights():
    parts = {k: torch.tensor(v) for k, v in dict(id=1.5, kl=3.0, rec=0.25, adv=0.7, cls=1.1).items()}
    f = ISGANLoss()
    s2 = f.stage_total(2, parts)
    assert float(s2["loss"]) == pytest.approx(0.7 + 2 * 1.1 + 10 * 0.25 + 1e-3 * 3.0)
    s3 = f.stage_total(3, parts)
    assert float(s3["loss"]) == pytest.approx(20 * 1.5 + 0.7 + 2 * 1.1 + 10 * 0.25 + 1e-2 * 3.0)
    assert float(f.stage_total(1, parts)["loss"]) == 1.5
    with pytest.raises(ValueError):
        f.stage_total(4, parts)
    d_fakes = [(torch.full((1, 1, 2, 2), 0.5), torch.zeros(1, 3))] * 3
    adv, cls = generator_adversarial_terms(d_fakes, torch.tensor([0]))
    assert float(adv) == pytest.approx(3 * math.log(2)) and float(cls) == pytest.approx(3 * math.log(3))
    assert LossWeights().real_label == (0.7, 1.0)
