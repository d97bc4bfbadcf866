"""quantize_model, initialize, param_groups on torchvision/timm models."""

import pytest
import torch
import torchvision
from torch import nn

import daq
from daq import DAQConv2d, DAQLinear


def _convs_and_linears(model):
    return [(n, m) for n, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


def test_resnet18_first_and_last_stay_fp():
    model = torchvision.models.resnet18(weights=None, num_classes=10)
    q = daq.quantize_model(model, w_bits=2, a_bits=2)
    assert type(q.conv1) is nn.Conv2d and type(q.fc) is nn.Linear
    layers = daq.daq_layers(q)
    assert len(layers) == 19 and all(isinstance(m, DAQConv2d) for _, m in layers)
    assert all(m.act_lower == "zero" for _, m in layers)  # every ResNet block conv is ReLU-fed... (see below)
    assert type(model.layer1[0].conv1) is nn.Conv2d  # not in place by default
    # weights were copied
    assert torch.equal(q.layer1[0].conv1.weight, model.layer1[0].conv1.weight)
    full = daq.quantize_model(model, 2, 2, skip_first=False, skip_last=False)
    assert len(daq.daq_layers(full)) == 21
    assert full.conv1.act_lower == "learn" and isinstance(full.fc, DAQLinear)


def test_layer_bits_override_and_linear_switch():
    model = torchvision.models.resnet18(weights=None, num_classes=10)
    q = daq.quantize_model(model, 2, 2, skip_last=False, quantize_linear=False,
                           layer_bits={"layer4.*": (4, 4), "layer1.0.conv1": None})
    assert q.layer4[1].conv2.w_bits == 4 and q.layer2[0].conv1.w_bits == 2
    assert type(q.layer1[0].conv1) is nn.Conv2d and type(q.fc) is nn.Linear


def test_mobilenet_v2_act_lower_auto():
    q = daq.models.mobilenet_v2(w_bits=4, a_bits=4, num_classes=10)
    layers = dict(daq.daq_layers(q))
    assert len(layers) == 53  # every conv and the FC
    assert layers["features.0.0"].act_lower == "learn"  # image input
    assert layers["features.18.0"].act_lower == "learn"  # final 1x1 conv after a linear bottleneck
    assert layers["classifier.1"].act_lower == "zero"
    for name, m in layers.items():
        block = q.get_submodule(name.rsplit(".conv.", 1)[0]) if ".conv." in name else None
        if block is None or len(block.conv) != 4:
            continue
        idx = name.split(".conv.")[1]
        expected = {"0.0": "learn", "1.0": "zero", "2": "zero"}[idx]  # expand, depthwise, project
        assert m.act_lower == expected, name


def test_timm_model_works():
    timm = pytest.importorskip("timm")
    model = timm.create_model("resnet10t", pretrained=False, num_classes=5)
    q = daq.quantize_model(model, 2, 2)
    assert len(daq.daq_layers(q)) == len(_convs_and_linears(model)) - 2
    x = torch.randn(2, 3, 32, 32)
    assert q(x).shape == (2, 5)


def test_initialize_does_not_touch_batchnorm_statistics():
    torch.manual_seed(0)
    q = daq.models.resnet20(w_bits=2, a_bits=2, width=4)
    x = torch.randn(4, 3, 16, 16)
    bn_before = q.layer1[0].bn1.running_mean.clone()
    daq.initialize(q, x)
    assert all(bool(m.initialized) for _, m in daq.daq_layers(q))
    assert torch.equal(q.layer1[0].bn1.running_mean, bn_before)
    # same result as the lazy init inside the first training forward
    lazy = daq.models.resnet20(w_bits=2, a_bits=2, width=4)
    lazy.load_state_dict({k: v for k, v in q.state_dict().items()
                          if not any(k.endswith(s) for s in ("w_lower", "w_upper", "a_upper", "scale", "initialized"))},
                         strict=False)
    y_lazy = lazy.train()(x)
    y_explicit = q.train()(x)
    assert torch.allclose(y_lazy, y_explicit, atol=1e-5)
    assert torch.allclose(lazy.layer1[0].bn1.running_mean, q.layer1[0].bn1.running_mean)


def test_param_groups_follow_the_official_split():
    q = daq.models.resnet20(w_bits=1, a_bits=1, width=4)
    model_group, quant_group = daq.param_groups(q, lr=0.1)
    assert len(quant_group["params"]) == 18 * 4  # w_lower, w_upper, a_upper, scale
    assert quant_group["weight_decay"] == 0.0 and quant_group["lr"] == 1e-4
    ids = {id(p) for p in model_group["params"]}
    assert id(q.layer1[0].bn1.weight) in ids and id(q.linear.bias) in ids and id(q.layer1[0].conv1.weight) in ids
    assert model_group["weight_decay"] == 1e-4
    assert len(ids) + len(quant_group["params"]) == len(list(q.parameters()))
    opt = torch.optim.SGD([model_group], momentum=0.9)
    qopt = torch.optim.Adam([quant_group])
    assert opt and qopt


def test_bad_bits_raise():
    with pytest.raises(ValueError):
        daq.quantize_model(nn.Sequential(nn.Conv2d(1, 1, 1)), w_bits=0)
    with pytest.raises(ValueError):
        daq.quantize_model(nn.Sequential(nn.Conv2d(1, 1, 1)), act_lower="x")
