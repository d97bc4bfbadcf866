"""E2 forward and E5 backward of the discretizer."""

import pytest
import torch

from ewgs.errors import QuantizationError
from ewgs.functional import ewgs_round, num_steps


@pytest.mark.parametrize("bits", [1, 2, 3, 4, 8])
def test_grid_and_reachability(bits):
    B = 2**bits - 1
    x = torch.linspace(0, 1, 4097, dtype=torch.float64)
    q = ewgs_round(x, bits, 0.0)
    codes = q * B
    torch.testing.assert_close(codes, codes.round(), rtol=0, atol=1e-9)
    assert set(codes.round().long().tolist()) == set(range(B + 1))
    assert (q - x).abs().max() <= 1 / (2 * B) + 1e-12


def test_round_half_to_even():
    x = torch.tensor([0.5, 1.5, 2.5], dtype=torch.float64) / 3
    assert (ewgs_round(x, 2) * 3).round().tolist() == [0.0, 2.0, 2.0]


def test_delta_zero_is_ste_bit_for_bit():
    x = torch.rand(1000, dtype=torch.float64, requires_grad=True)
    g = torch.randn(1000, dtype=torch.float64)
    (gx,) = torch.autograd.grad(ewgs_round(x, 2, 0.0), x, g)
    (gs,) = torch.autograd.grad(ewgs_round(x, 2, 0.7, backward="ste"), x, g)
    assert torch.equal(gx, g) and torch.equal(gs, g)


@pytest.mark.parametrize("delta", [1e-3, 0.5, 2.0])
def test_ewgs_formula(delta):
    x = torch.rand(500, dtype=torch.float64, requires_grad=True)
    g = torch.randn(500, dtype=torch.float64)
    g[:20] = 0
    (gx,) = torch.autograd.grad(ewgs_round(x, 2, delta), x, g)
    xq = torch.round(x.detach() * 3) / 3
    ref = g * (1 + delta * torch.sign(g) * (x.detach() - xq))
    torch.testing.assert_close(gx, ref, rtol=0, atol=1e-7)
    assert torch.all(gx[:20] == 0)


def test_four_sign_cases_of_the_paper():
    # B = 1 (1 bit). 0.6 rounds to 1 (lags behind 1: x_n - x_q < 0), 0.4 rounds to 0 (ahead: > 0).
    x = torch.tensor([0.6, 0.6, 0.4, 0.4, 1.0], dtype=torch.float64, requires_grad=True)
    g = torch.tensor([-1.0, 1.0, -1.0, 1.0, 1.0], dtype=torch.float64)  # descent moves x by -g
    (gx,) = torch.autograd.grad(ewgs_round(x, 1, 0.5), x, g)
    # g<0 pushes x_n up towards x_q=1 that it lags behind -> |grad| enlarged
    assert abs(gx[0]) > 1
    # g>0 pushes x_n=0.6 down, away from x_q=1 (it is "ahead" in that direction) -> shrunk
    assert abs(gx[1]) < 1
    # x_n=0.4 rounds to 0: pushing up (g<0) it is ahead -> shrunk; pushing down (g>0) lags -> enlarged
    assert abs(gx[2]) < 1 and abs(gx[3]) > 1
    assert gx[4] == 1.0  # x_n == x_q: unchanged


def test_error_is_not_differentiated_and_delta_read_at_forward_time():
    x = torch.rand(10, dtype=torch.float64, requires_grad=True)
    delta = torch.tensor(0.5, dtype=torch.float64)
    y = ewgs_round(x, 2, delta)
    delta.fill_(100.0)  # a later update does not change this graph's backward
    g = torch.ones(10, dtype=torch.float64)
    (gx,) = torch.autograd.grad(y, x, g)
    xq = torch.round(x.detach() * 3) / 3
    torch.testing.assert_close(gx, 1 + 0.5 * (x.detach() - xq))


@pytest.mark.parametrize("bits", [0, 9, 2.0, None, True])
def test_bad_bits(bits):
    with pytest.raises(QuantizationError):
        num_steps(bits)
    with pytest.raises(QuantizationError):
        ewgs_round(torch.rand(3), bits)


def test_bad_backward_and_dtype_shape():
    with pytest.raises(QuantizationError):
        ewgs_round(torch.rand(3, requires_grad=True), 2, backward="nope")
    x = torch.rand(2, 3, 4, dtype=torch.float32, requires_grad=True)
    y = ewgs_round(x, 3, 0.1)
    assert y.shape == x.shape and y.dtype == x.dtype
    assert ewgs_round(torch.empty(0), 2).shape == (0,)
