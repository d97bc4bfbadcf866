"""quantize_model on torchvision/timm models, initialize (BN moves once), param_groups."""

import pytest
import torch
import torchvision
from torch import nn

import ewgs
from ewgs import EWGSConv2d, EWGSLinear
from ewgs.errors import QuantizationError


def _count(model, cls=(EWGSConv2d, EWGSLinear)):
    return sum(isinstance(m, cls) and m.quantized for m in model.modules())


def test_resnet18_rules():
    m = torchvision.models.resnet18(weights=None)
    q = ewgs.quantize_model(m, 2, 2)
    assert _count(q) == 19 and type(q.conv1) is nn.Conv2d and type(q.fc) is nn.Linear
    assert isinstance(q.layer2[0].downsample[0], EWGSConv2d)
    assert _count(ewgs.quantize_model(m, 2, 2, skip_first=False, skip_last=False)) == 21
    q2 = ewgs.quantize_model(m, 2, 2, layer_bits={"layer4.*": (4, None)}, backward="ste")
    assert q2.layer4[1].conv2.w_bits == 4 and q2.layer4[1].conv2.a_bits is None
    assert q2.layer1[0].conv1.backward == "ste"
    torch.testing.assert_close(q.layer1[0].conv1.weight, m.layer1[0].conv1.weight)


def test_mobilenet_v2_all_layers():
    mb = ewgs.quantize_model(torchvision.models.mobilenet_v2(weights=None), 4, 4, skip_first=False, skip_last=False)
    assert _count(mb) == 53


@pytest.mark.slow  # importing timm costs ~20 s here; the shared walk is tested on timm in shared/tests
def test_timm_model():
    timm = pytest.importorskip("timm")
    t = timm.create_model("resnet10t", pretrained=False, num_classes=3)
    n = sum(isinstance(m, (nn.Conv2d, nn.Linear)) for m in t.modules())
    qt = ewgs.quantize_model(t, 2, 2)
    assert _count(qt) == n - 2
    x = torch.randn(2, 3, 32, 32)
    ewgs.initialize(qt, x)
    assert qt(x).shape == (2, 3)


def test_bad_bits_in_quantize_model():
    with pytest.raises(ValueError):
        ewgs.quantize_model(torchvision.models.resnet18(weights=None), 4, 16)


def test_initialize_moves_bn_once_and_restores_mode():
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Conv2d(4, 4, 3), nn.BatchNorm2d(4),
                        nn.ReLU(), nn.Flatten(), nn.LazyLinear(2))
    net(torch.randn(2, 3, 8, 8))
    q = ewgs.quantize_model(net, 2, 2)
    q.eval()
    x = torch.randn(4, 3, 8, 8)
    before = int(q[1].num_batches_tracked), int(q[4].num_batches_tracked)
    ewgs.initialize(q, (x, torch.zeros(4)))
    assert (int(q[1].num_batches_tracked), int(q[4].num_batches_tracked)) == (before[0] + 1, before[1] + 1)
    assert not q.training
    assert bool(q[3].initialized) and q[3].a_upper.item() > 0
    with pytest.raises(QuantizationError):
        ewgs.initialize(q, torch.zeros(0, 3, 8, 8))
    with pytest.raises(QuantizationError):
        ewgs.initialize(nn.Linear(2, 2), torch.zeros(1, 2))


def test_param_groups_cover_everything():
    q = ewgs.quantize_model(torchvision.models.resnet18(weights=None), 2, 2)
    groups = ewgs.param_groups(q, lr=0.1)
    model_p, quant_p = groups[0]["params"], groups[1]["params"]
    assert len(quant_p) == 19 * 5
    assert len(model_p) + len(quant_p) == len(list(q.parameters()))
    assert groups[1]["weight_decay"] == 0 and groups[1]["lr"] == 1e-5 and groups[0]["weight_decay"] == 1e-4
    assert any(p is q.bn1.weight for p in model_p) and any(p is q.layer1[0].conv1.weight for p in model_p)
