"""Model constructors: shapes, layer counts, parameter counts, no stem BN in the DAQ ResNet-20."""

import pytest
import torch
from torch import nn

import daq
import daq.models as M
from daq import DAQConv2d


def _count(model):
    return sum(p.numel() for p in model.parameters())


def test_resnet20_full_size():
    fp = M.resnet20(None, None)
    assert _count(fp) == 269_850  # the released cifar10_fp.pth (~0.27 M)
    q = M.resnet20(1, 1)
    assert len(daq.daq_layers(q)) == 18 and all(isinstance(m, DAQConv2d) for _, m in daq.daq_layers(q))
    assert _count(q) == 269_850 + 18 * 4
    assert type(q.conv1) is nn.Conv2d and type(q.linear) is nn.Linear and isinstance(q.bn2, nn.BatchNorm1d)
    assert q(torch.randn(2, 3, 32, 32)).shape == (2, 10)


def test_resnet20_stem_bn_is_unused():
    m = M.resnet20(None, None, width=4).eval()
    x = torch.randn(2, 3, 8, 8)
    y = m(x)
    with torch.no_grad():
        m.bn1.weight.mul_(7.0)
        m.bn1.running_mean.add_(3.0)
    assert torch.equal(m(x), y)
    with_bn = M.resnet20(None, None, width=4, stem_bn=True)
    with_bn.load_state_dict(m.state_dict())
    assert not torch.allclose(with_bn.eval()(x), y)


def test_tiny_resnet20_and_small_net():
    assert M.resnet20(2, 2, width=4, num_classes=3)(torch.randn(2, 3, 8, 8)).shape == (2, 3)
    net = M.small_net(2, 2, width=4)
    assert net(torch.randn(3, 1, 28, 28)).shape == (3, 10)
    assert len(daq.daq_layers(net)) == 2


@pytest.mark.parametrize("name, layers, params", [
    ("resnet18", 19, 11_689_512), ("resnet34", 35, 21_797_672), ("mobilenet_v2", 53, 3_504_872),
])
def test_imagenet_models_full_size(name, layers, params):
    fp = M.get(name, w_bits=None, a_bits=None)
    assert _count(fp) == params
    q = M.get(name, w_bits=2, a_bits=2)
    assert len(daq.daq_layers(q)) == layers
    q.eval()
    for _, m in daq.daq_layers(q):
        m.initialized.fill_(True)
        with torch.no_grad():
            for n in ("w_lower", "a_lower"):
                if hasattr(m, n):
                    getattr(m, n).fill_(-3.0)
            for n in ("w_upper", "a_upper"):
                if hasattr(m, n):
                    getattr(m, n).fill_(3.0)
    assert q(torch.randn(1, 3, 64, 64)).shape == (1, 1000)


def test_registry():
    assert set(M.available()) >= {"resnet20", "resnet18", "resnet34", "mobilenet_v2", "small_net"}
    with pytest.raises(KeyError):
        M.get("vgg")


def test_unused_stem_bn_is_frozen_and_everything_else_gets_gradients():
    m = M.resnet20(1, 1, width=4)
    m(torch.randn(2, 3, 8, 8))
    m(torch.randn(2, 3, 8, 8)).sum().backward()
    missing = [n for n, p in m.named_parameters() if p.requires_grad and p.grad is None]
    assert missing == []
    assert not m.bn1.weight.requires_grad
