"""RelationNet, stripes, one-vs-rest relation and GCP (equations R1-R8, R10)."""

import pytest
import torch

from reid_relation import GlobalContrastivePooling, OneVsRestRelation, RelationNet, stripe_max_pool
from reid_relation.global_contrastive_pooling import contrastive_feature
from reid_relation.stripes import rest_average


def tiny(num_classes=5, **kw):
    return RelationNet(num_classes, backbone="resnet18", width=8, feat_dim=16, **kw)


def test_forward_shapes_train_and_eval():
    m = tiny(7).train()
    out = m(torch.randn(2, 3, 192, 64))
    assert len(out.features) == 15 and all(f.shape == (2, 16) for f in out.features)
    assert {k: len(v) for k, v in out.logits.items()} == {"local_rest": 12, "local": 12, "rest": 12, "global": 9}
    assert all(z.shape == (2, 7) for z in out.all_logits())
    m.eval()
    assert m(torch.randn(2, 3, 192, 64)).logits is None
    assert m.embed(torch.randn(3, 3, 192, 64)).shape == (3, 15 * 16) == (3, m.descriptor_dim)


def test_full_size_parameter_count():
    m = RelationNet(751)
    total = sum(p.numel() for p in m.parameters())
    trunk = sum(p.numel() for p in m.base.parameters())
    assert round(total / 1e6, 2) == 49.92 and round(trunk / 1e6, 2) == 23.51
    assert m.descriptor_dim == 3840
    assert m.base.layer4[0].conv2.stride == (1, 1) and m.base.layer4[0].downsample[0].stride == (1, 1)


@pytest.mark.slow
def test_full_size_forward_384x128():
    m = RelationNet(751).eval()
    f = m(torch.randn(1, 3, 384, 128)).features
    assert len(f) == 15 and f[0].shape == (1, 256)


def test_height_not_divisible_by_12_is_a_clear_error():
    with pytest.raises(ValueError, match="divisible by 12"):
        tiny().eval()(torch.randn(1, 3, 128, 64))  # feature height 8


def test_stripe_pooling_equals_loop():
    x = torch.randn(2, 5, 12, 3)
    for n in (6, 4, 2):
        got = stripe_max_pool(x, n)
        h = 12 // n
        ref = torch.stack([x[:, :, i * h:(i + 1) * h].amax(dim=(2, 3)) for i in range(n)], 1)
        torch.testing.assert_close(got, ref)
        torch.testing.assert_close(got.amax(1), x.amax(dim=(2, 3)))


def test_rest_term_and_contrastive_feature():
    p = torch.randn(3, 6, 4)
    r = rest_average(p)
    for i in range(6):
        torch.testing.assert_close(r[:, i], torch.cat([p[:, :i], p[:, i + 1:]], 1).mean(1))
    p2 = torch.randn(3, 2, 4)
    torch.testing.assert_close(rest_average(p2), p2.flip(1))
    torch.testing.assert_close(contrastive_feature(p2, p2.amax(1)), p2.amin(1))
    torch.testing.assert_close(contrastive_feature(p, p.amax(1)), (p.sum(1) - p.amax(1)) / 5)


def _identity_fuse(emb):
    conv = emb[0]
    torch.nn.init.zeros_(conv.weight)
    torch.nn.init.zeros_(conv.bias)


def test_residual_wiring():
    rel, gcp = OneVsRestRelation(4, 8, 5).eval(), GlobalContrastivePooling(4, 8, 5).eval()
    for e in list(rel.fuse) + [gcp.fuse]:
        _identity_fuse(e)  # fusion output = ReLU(BN(0)) = 0 with default BN statistics
    p = torch.randn(3, 4, 8)
    q, a, b = rel(p)
    torch.testing.assert_close(q, a)
    g, g_max, g_cont = gcp(p)
    torch.testing.assert_close(g, g_max)
    torch.testing.assert_close(a[:, 1], rel.local[1](p[:, 1]))
    torch.testing.assert_close(b[:, 2], rel.rest[2](rest_average(p)[:, 2]))


def test_gradient_reaches_every_branch():
    from reid_relation import RelationLoss

    m = tiny(3).train()
    y = torch.tensor([0, 0, 1, 1, 2, 2])
    loss, _ = RelationLoss()(m(torch.randn(6, 3, 192, 64)), y)
    loss.backward()
    for name, p in m.named_parameters():
        if name.endswith(".weight") and ("heads" in name or "relation" in name or "gcp" in name):
            assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_flip_tta_descriptor_matches_manual():
    m = tiny().eval()
    x = torch.randn(2, 3, 192, 64)
    f, ff = m(x).features, m(torch.flip(x, dims=[3])).features
    ref = torch.cat([(a + b) / 2 for a, b in zip(f, ff)], 1)
    ref = ref / ref.norm(dim=1, keepdim=True)
    torch.testing.assert_close(m.embed(x), ref)
    assert not torch.allclose(m.embed(x, flip=False), ref)
