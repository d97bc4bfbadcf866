import pytest
import torch

from sfnet.matching import combine_correlations, correlation, l2_normalize, transpose_volume


def brute_corr(fs, ft, eps=1e-6):
    b, c, hs, ws = fs.shape
    ht, wt = ft.shape[-2:]
    out = torch.zeros(b, ht * wt, hs, ws, dtype=fs.dtype)
    for i in range(b):
        for ys in range(hs):
            for xs in range(ws):
                a = fs[i, :, ys, xs]
                a = a / torch.sqrt((a * a).sum() + eps)
                for yt in range(ht):
                    for xt in range(wt):
                        t = ft[i, :, yt, xt]
                        t = t / torch.sqrt((t * t).sum() + eps)
                        out[i, yt * wt + xt, ys, xs] = max(0.0, float(a @ t))
    return out


def test_correlation_matches_brute_force_and_axis_order():
    fs = torch.randn(2, 5, 3, 4, dtype=torch.float64)
    ft = torch.randn(2, 5, 2, 3, dtype=torch.float64)
    c = correlation(fs, ft)
    assert c.shape == (2, 6, 3, 4)
    torch.testing.assert_close(c, brute_corr(fs, ft), rtol=0, atol=1e-12)
    assert (c >= 0).all() and (c <= 1).all()


def test_correlation_without_relu_keeps_negatives_and_self_is_one():
    f = torch.randn(1, 8, 3, 3, dtype=torch.float64)
    c = correlation(f, -f, relu=False)
    assert (c.view(1, 9, 9).diagonal(dim1=1, dim2=2) < -0.99).all()
    c2 = correlation(f, f)
    torch.testing.assert_close(c2.view(1, 9, 9).diagonal(dim1=1, dim2=2), torch.ones(1, 9, dtype=torch.float64),
                               atol=1e-5, rtol=0)


def test_correlation_zero_features_are_finite():
    c = correlation(torch.zeros(1, 4, 2, 2), torch.zeros(1, 4, 2, 2))
    assert torch.isfinite(c).all() and (c == 0).all()


def test_correlation_rejects_bad_shapes():
    with pytest.raises(ValueError):
        correlation(torch.zeros(1, 4, 2, 2), torch.zeros(1, 5, 2, 2))


def test_combine_normalises_over_target_axis_and_transposes():
    torch.manual_seed(1)
    fs, ft = torch.randn(2, 6, 4, 4, dtype=torch.float64), torch.randn(2, 6, 4, 4, dtype=torch.float64)
    gs, gt = torch.randn(2, 6, 4, 4, dtype=torch.float64), torch.randn(2, 6, 4, 4, dtype=torch.float64)
    c4, c5 = correlation(fs, ft), correlation(gs, gt)
    s2t, t2s = combine_correlations(c4, c5)
    prod = c4 * c5
    norm = s2t.pow(2).sum(1)
    nondeg = prod.pow(2).sum(1) > 1e-2  # S / (S + 1e-6) within 1e-4
    assert torch.allclose(norm[nondeg], torch.ones_like(norm[nondeg]), atol=1e-4)
    # t2s[b, p, yt, xt] is prod[b, q, ys, xs] normalised over p
    pt = prod.view(2, 16, 16).transpose(1, 2)
    ref = pt / torch.sqrt(pt.pow(2).sum(1, keepdim=True) + 1e-6)
    torch.testing.assert_close(t2s.view(2, 16, 16), ref)
    # before normalisation the reverse volume is the transpose of the forward one (reverse features)
    torch.testing.assert_close(transpose_volume(c4, (4, 4)), correlation(ft, fs))


def test_l2_normalize_unit_norm_and_gradient():
    x = torch.randn(2, 3, 2, 2, dtype=torch.float64, requires_grad=True)
    assert torch.allclose(l2_normalize(x).pow(2).sum(1), torch.ones(2, 2, 2, dtype=torch.float64), atol=1e-5)
    assert torch.autograd.gradcheck(lambda t: l2_normalize(t), (x,))
