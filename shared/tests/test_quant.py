"""Tests of cvcore.quant: the model-surgery walk and the shared network skeletons."""

import functools

import pytest
import torch
import torch.fx
import torchvision
from torch import nn

from cvcore import quant as Q
from cvcore.errors import ConfigError


class TagConv(nn.Conv2d):
    """A stand-in 'quantized' conv: same computation, records the planned bits."""

    @classmethod
    def from_float(cls, m: nn.Conv2d, plan: Q.LayerPlan) -> "TagConv":
        new = cls(m.in_channels, m.out_channels, m.kernel_size, m.stride, m.padding, m.dilation,
                  m.groups, m.bias is not None)
        new.load_state_dict(m.state_dict())
        new.bits = (plan.w_bits, plan.a_bits)
        return new


class TagLinear(nn.Linear):
    @classmethod
    def from_float(cls, m: nn.Linear, plan: Q.LayerPlan) -> "TagLinear":
        new = cls(m.in_features, m.out_features, m.bias is not None)
        new.load_state_dict(m.state_dict())
        new.bits = (plan.w_bits, plan.a_bits)
        return new


def factory(m, plan):
    return TagConv.from_float(m, plan) if isinstance(m, nn.Conv2d) else TagLinear.from_float(m, plan)


def tagged(model):
    return {n: m.bits for n, m in model.named_modules() if isinstance(m, (TagConv, TagLinear))}


@pytest.mark.parametrize("bits", [0, 9, 16, 2.5, "2", True, -1])
def test_check_bits_rejects(bits):
    with pytest.raises(ConfigError):
        Q.check_bits(bits)


def test_check_bits_accepts():
    assert [Q.check_bits(b) for b in (None, 1, 4, 8)] == [None, 1, 4, 8]


def test_resnet18_default_rules_and_overrides():
    m = torchvision.models.resnet18(weights=None)
    q = Q.swap_layers(m, factory, 2, 3)
    tags = tagged(q)
    assert len(tags) == 19 and "conv1" not in tags and "fc" not in tags
    assert {"layer2.0.downsample.0", "layer3.0.downsample.0", "layer4.0.downsample.0"} <= set(tags)
    assert set(tags.values()) == {(2, 3)}
    assert not tagged(m)  # original untouched (inplace=False)
    q_all = Q.swap_layers(m, factory, 2, 2, skip_first=False, skip_last=False)
    assert len(tagged(q_all)) == 21
    q_nolin = Q.swap_layers(m, factory, 2, 2, skip_last=False, quantize_linear=False)
    assert "fc" not in tagged(q_nolin) and len(tagged(q_nolin)) == 19
    q_ov = Q.swap_layers(m, factory, 2, 2, layer_bits={"conv1": (8, None), "layer4.*": (4, 4), "layer1.0.conv1": None})
    t = tagged(q_ov)
    assert t["conv1"] == (8, None) and "layer1.0.conv1" not in t
    assert all(v == (4, 4) for k, v in t.items() if k.startswith("layer4."))
    assert t["layer3.1.conv2"] == (2, 2)
    # same computation (the tag layers are exact copies)
    x = torch.randn(1, 3, 64, 64)
    m.eval(), q_all.eval()
    torch.testing.assert_close(q_all(x), m(x), rtol=0, atol=0)


def test_bad_overrides():
    m = Q.resnet20(width=4)
    with pytest.raises(ConfigError, match="matches no"):
        Q.plan_layers(m, layer_bits={"nope": (2, 2)})
    with pytest.raises(ConfigError):
        Q.plan_layers(m, layer_bits={"layer1.0.conv1": (2, 9)})
    with pytest.raises(ConfigError):
        Q.plan_layers(m, layer_bits={"layer1.0.conv1": 2})
    with pytest.raises(ConfigError):
        Q.plan_layers(m, w_bits=32)


def test_forward_order_differs_from_module_order():
    class Rev(nn.Module):
        def __init__(self):
            super().__init__()
            self.head = nn.Linear(4, 2)      # registered first, called last
            self.unused = nn.Conv2d(1, 1, 1)
            self.stem = nn.Conv2d(1, 4, 3)

        def forward(self, x):
            return self.head(self.stem(x).mean((2, 3)))

    m = Rev()
    assert [n for n, _ in Q.quantizable_layers(m)] == ["head", "unused", "stem"]
    assert [n for n, _ in Q.quantizable_layers(m, example_input=torch.randn(1, 1, 5, 5))] == ["stem", "head"]
    plans = Q.plan_layers(m, 2, 2, example_input=torch.randn(1, 1, 5, 5))
    assert [(p.name, p.first, p.last, p.quantize) for p in plans] == [("stem", True, False, False), ("head", False, True, False)]
    assert m.training  # mode restored


def test_multihead_attention_out_proj_excluded():
    class Att(nn.Module):
        def __init__(self):
            super().__init__()
            self.inp = nn.Linear(4, 8)
            self.att = nn.MultiheadAttention(8, 2, batch_first=True)
            self.out = nn.Linear(8, 2)

    names = [n for n, _ in Q.quantizable_layers(Att())]
    assert names == ["inp", "out"]


def test_timm_model():
    timm = pytest.importorskip("timm")
    m = timm.create_model("resnet10t", pretrained=False, num_classes=5)
    layers = Q.quantizable_layers(m)
    q = Q.swap_layers(m, factory, 2, 2)
    assert len(tagged(q)) == len(layers) - 2
    x = torch.randn(1, 3, 32, 32)
    m.eval(), q.eval()
    torch.testing.assert_close(q(x), m(x), rtol=0, atol=0)


def test_nonnegative_inputs_mobilenet_and_resnet():
    mb = torchvision.models.mobilenet_v2(weights=None)
    nn_ = Q.nonnegative_inputs(mb)
    signed = {k for k, v in nn_.items() if not v}
    expand = {f"features.{i}.conv.0.0" for i in range(2, 18)}
    assert signed == {"features.0.0", "features.18.0"} | expand
    assert nn_["features.1.conv.0.0"] and nn_["features.2.conv.1.0"] and nn_["features.2.conv.2"] and nn_["classifier.1"]
    r = Q.resnet20(width=4)
    nr = Q.nonnegative_inputs(r)
    assert not nr["conv1"] and not nr["linear"] and sum(nr.values()) == 18


def test_nonnegative_inputs_order_fallback():
    class Untraceable(nn.Sequential):
        def forward(self, x):
            if x.sum() > 1e9:  # data-dependent control flow: torch.fx cannot trace this
                return x
            return super().forward(x)

    m = Untraceable(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(2, 2, 3), nn.Conv2d(2, 2, 1))
    with pytest.raises(torch.fx.proxy.TraceError):
        Q.nonnegative_inputs(m, method="fx")
    expected = {"0": False, "3": True, "4": False}
    assert Q.nonnegative_inputs(m) == expected == Q.nonnegative_inputs(m, method="order")


def test_resnet20_skeleton():
    m = Q.resnet20()
    assert Q.count_parameters(m) == 269_850  # 0.27 M as in the paper tables
    assert m(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    keys = set(m.state_dict())
    assert {"conv1.weight", "bn1.running_mean", "layer1.0.conv1.weight", "layer3.2.bn2.weight", "bn2.weight",
            "linear.weight", "linear.bias"} <= keys
    q = Q.resnet20(conv=functools.partial(TagConv), width=4)
    assert sum(isinstance(x, TagConv) for x in q.modules()) == 18
    # stem_bn=False: bn1 kept (same keys) but not applied
    a, b = Q.resnet20(width=4, stem_bn=True), Q.resnet20(width=4, stem_bn=False)
    assert set(a.state_dict()) == set(b.state_dict())
    b.load_state_dict(a.state_dict())
    with torch.no_grad():
        a.bn1.weight.fill_(3.0)
        b.bn1.weight.fill_(3.0)
    a.eval(), b.eval()
    x = torch.randn(2, 3, 16, 16)
    assert not torch.allclose(a(x), b(x))
    b.bn1.register_forward_hook(lambda *_: (_ for _ in ()).throw(AssertionError("bn1 used")))
    b(x)
    with pytest.raises(ValueError):
        Q.resnet20(width=3)


def test_option_a_shortcut_matches_brute_force():
    x = torch.randn(2, 4, 5, 5)
    out = Q.OptionAShortcut(2)(x)
    assert out.shape == (2, 8, 3, 3)
    ref = torch.zeros(2, 8, 3, 3)
    for i in range(3):
        for j in range(3):
            ref[:, 2:6, i, j] = x[:, :, 2 * i, 2 * j]
    torch.testing.assert_close(out, ref, rtol=0, atol=0)


def test_torchvision_builders():
    assert Q.count_parameters(Q.resnet18()) == 11_689_512
    assert Q.count_parameters(Q.resnet34()) == 21_797_672
    mb = Q.mobilenet_v2(factory=factory, w_bits=4, a_bits=4)
    assert len(tagged(mb)) == 53 and Q.count_parameters(mb) == 3_504_872
    r34 = Q.resnet34(num_classes=7, factory=factory, w_bits=2, a_bits=2)
    assert len(tagged(r34)) == 35 and r34.fc.out_features == 7


def test_small_net():
    m = Q.SmallConvNet(width=4, conv=TagConv)
    assert m(torch.randn(3, 1, 28, 28)).shape == (3, 10)
    assert m(torch.randn(3, 1, 8, 8)).shape == (3, 10)
    assert sum(isinstance(x, TagConv) for x in m.modules()) == 2
    plans = Q.plan_layers(Q.SmallConvNet(width=4), 2, 2)
    assert [p.quantize for p in plans] == [False, True, True, False]


def test_split_parameters():
    class QC(nn.Conv2d):
        def __init__(self, *a, **k):
            super().__init__(*a, **k)
            self.scale = nn.Parameter(torch.ones(()))
            self.w_upper = nn.Parameter(torch.ones(()))

    m = Q.resnet20(width=4, conv=QC)
    model_p, quant_p = Q.split_parameters(m, QC, {"scale", "w_upper", "w_lower"})
    assert len(quant_p) == 36
    assert {id(p) for p in model_p}.isdisjoint({id(p) for p in quant_p})
    assert len(model_p) + len(quant_p) == len(list(m.parameters()))
    assert any(p is m.bn1.weight for p in model_p)


def test_set_submodule_errors():
    m = Q.SmallConvNet(width=2)
    with pytest.raises(KeyError):
        Q.set_submodule(m, "nope.conv", nn.Identity())
    Q.set_submodule(m, "conv2", nn.Identity())
    assert isinstance(m.conv2, nn.Identity)
