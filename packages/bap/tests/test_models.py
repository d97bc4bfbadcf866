import numpy as np
import pytest
import torch

from bap.cosine_classifier import CosineClassifier
from bap.models import BAPClassifier, DeepLabLargeFOV, DeepLabV2ASPP, count_parameters
from bap.models.classifier import caffe_normalize


def test_full_size_parameter_counts():
    assert count_parameters(BAPClassifier(21, "vgg16")) == 20_505_408
    assert count_parameters(DeepLabLargeFOV(21, "vgg16")) == 20_505_408
    m = DeepLabV2ASPP(21)
    assert count_parameters(m.backbone) == 42_500_160
    assert count_parameters(m) == 61_379_904
    bn = next(x for x in m.modules() if isinstance(x, torch.nn.BatchNorm2d))
    assert bn.momentum == pytest.approx(0.001)
    assert next(x for x in DeepLabV2ASPP(21, compat="official", blocks=(1, 1, 1, 1)).modules()
                if isinstance(x, torch.nn.BatchNorm2d)).momentum == pytest.approx(0.999)


@pytest.mark.slow
def test_full_size_forward_shapes():
    x = torch.zeros(1, 3, 321, 321)
    with torch.no_grad():
        assert BAPClassifier(21, "vgg16").eval().features(x).shape == (1, 1024, 41, 41)
        assert DeepLabLargeFOV(21, "vgg16").eval()(x).shape == (1, 21, 321, 321)
        assert DeepLabV2ASPP(21).eval().cosine_logits(x).shape == (1, 21, 41, 41)


def test_reduced_resnet_output_stride_8():
    m = DeepLabV2ASPP(21, blocks=(1, 1, 1, 1)).eval()
    with torch.no_grad():
        s = m.cosine_logits(torch.zeros(1, 3, 65, 65) + 1)
    assert s.shape == (1, 21, 9, 9)


def test_tiny_models_shapes_and_stride():
    x = torch.randn(2, 3, 97, 97)
    c = BAPClassifier(4, "tiny", width=16).eval()
    assert c.features(x).shape == (2, 16, 13, 13)
    seg = DeepLabLargeFOV(4, "tiny", width=16).eval()
    assert seg(x).shape == (2, 4, 97, 97)


def test_cosine_logits_range_and_scale_invariance():
    g = torch.Generator().manual_seed(0)
    cc = CosineClassifier(8, 5)
    x = torch.randn(2, 8, 3, 3, generator=g)
    s = cc(x)
    assert s.shape == (2, 5, 3, 3) and s.abs().max() <= 1 + 1e-6
    assert torch.allclose(cc(7.5 * x), s, atol=1e-6)
    with torch.no_grad():
        cc.weight.mul_(3.0)
    assert torch.allclose(cc(x), s, atol=1e-6)
    ref = torch.nn.functional.cosine_similarity(x[:, None], cc.weight[None, :, :, 0, 0, None, None], dim=2)
    assert torch.allclose(s, ref, atol=1e-6)


def test_param_groups_follow_affinitynet_rule():
    m = BAPClassifier(4, "tiny", width=8)
    groups = m.param_groups(1e-3, 5e-4)
    mults = {g["lr_mult"]: g for g in groups}
    assert set(mults) == {1, 2, 10}
    assert mults[10]["params"][0] is m.classifier.weight and mults[10]["weight_decay"] == 5e-4
    assert mults[2]["weight_decay"] == 0 and all(p.ndim == 1 for p in mults[2]["params"])
    n = sum(p.numel() for g in groups for p in g["params"])
    assert n == count_parameters(m)


def test_caffe_normalize():
    img = torch.tensor([[[10]], [[20]], [[30]]], dtype=torch.uint8)
    out = caffe_normalize(img)
    np.testing.assert_allclose(out.view(-1).numpy(), [30 - 104.008, 20 - 116.669, 10 - 122.675], rtol=1e-6)


def test_classifier_stage1_loss_matches_hand_ce():
    torch.manual_seed(0)
    m = BAPClassifier(3, "tiny", width=8, grid_size=2).eval()
    imgs = torch.randn(2, 3, 64, 64) * 50
    boxes = torch.tensor([[8.0, 8.0, 40.0, 40.0, 1.0], [0.0, 0.0, 30.0, 20.0, 2.0], [30.0, 30.0, 60.0, 60.0, 1.0]])
    idx = torch.tensor([0, 0, 1])
    bg = torch.ones(2, 64, 64)
    bg[0, 8:40, 8:40] = 0
    bg[1, 30:60, 30:60] = 0
    logits, t = m(imgs, boxes, idx, bg)
    assert t[:12].tolist() == [1] * 4 + [2] * 4 + [1] * 4 and (t[12:] == 0).all()
    out = m.pooled(imgs, boxes, idx, bg)
    x, _ = out.samples()
    p = torch.softmax(x @ m.class_weights.T, 1)
    hand = -torch.log(p[torch.arange(len(t)), t]).mean()
    assert float(torch.nn.functional.cross_entropy(logits, t).detach()) == pytest.approx(float(hand.detach()), rel=1e-5)
