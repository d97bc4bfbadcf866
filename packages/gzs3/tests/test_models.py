import pytest
import torch
from torch import nn

from gzs3.models import DeepLabV3PlusEncoder, SemanticEncoder


def count(m):
    return sum(p.numel() for p in m.parameters())


@pytest.fixture(scope="module")
def full_voc():
    return DeepLabV3PlusEncoder(21)


def test_full_size_parameter_counts():
    with torch.device("meta"):  # the real architecture, without paying for 59 M random weights
        m = DeepLabV3PlusEncoder(21)
        ctx = DeepLabV3PlusEncoder(60)
    assert count(ctx) == 59_354_332 and count(ctx.classifier) == 15_420
    assert count(m.backbone) == 42_500_160
    assert count(m.aspp) == 15_535_104
    assert count(m.decoder) == 1_303_648
    assert count(m.classifier) == 5_397
    assert count(m) == 59_344_309
    assert count(SemanticEncoder(300, 256)) == 77_056
    assert [b.conv2.dilation for b in m.backbone.layer4] == [(2, 2), (4, 4), (8, 8)]
    assert m.backbone.layer4[0].conv2.stride == (1, 1) and m.backbone.layer2[0].conv2.stride == (2, 2)


def test_full_size_meta_forward_shapes():
    with torch.device("meta"):
        m = DeepLabV3PlusEncoder(21).eval()
        logits, v = m(torch.empty(1, 3, 312, 312))
    assert logits.shape == (1, 21, 312, 312) and v.shape == (1, 256, 78, 78)


@pytest.mark.slow
def test_full_size_forward_312(full_voc):
    full_voc.eval()
    with torch.no_grad():
        logits, v = full_voc(torch.randn(1, 3, 312, 312))
    assert logits.shape == (1, 21, 312, 312) and v.shape == (1, 256, 78, 78)


def test_tiny_shapes_and_os8():
    m = DeepLabV3PlusEncoder(7, backbone="tiny", width=8)
    logits, v = m(torch.randn(2, 3, 48, 64))
    assert logits.shape == (2, 7, 48, 64) and v.shape == (2, 8, 12, 16)
    m8 = DeepLabV3PlusEncoder(7, backbone="tiny", width=8, output_stride=8)
    assert m8.backbone(torch.randn(1, 3, 64, 64))[1].shape[-1] == 8
    with pytest.raises(ValueError):
        DeepLabV3PlusEncoder(7, backbone="tiny", output_stride=4)


def test_backbone_bn_frozen_in_train_mode():
    m = DeepLabV3PlusEncoder(3, backbone="tiny", width=8).train()
    bb = [x for x in m.backbone.modules() if isinstance(x, nn.BatchNorm2d)]
    hd = [x for x in m.decoder.modules() if isinstance(x, nn.BatchNorm2d)]
    assert all(not b.training for b in bb) and all(b.training for b in hd)
    before_bb = [b.running_mean.clone() for b in bb]
    before_hd = [b.running_mean.clone() for b in hd]
    w_before = bb[0].weight.detach().clone()
    opt = torch.optim.SGD(m.parameters(), lr=0.1)
    logits, v = m(torch.randn(2, 3, 32, 32) * 3 + 1)
    (logits.mean() + v.pow(2).mean()).backward()
    opt.step()
    assert all(torch.equal(a, b.running_mean) for a, b in zip(before_bb, bb))
    assert any(not torch.equal(a, b.running_mean) for a, b in zip(before_hd, hd))
    assert not torch.equal(w_before, bb[0].weight)  # affine parameters still train
    m2 = DeepLabV3PlusEncoder(3, backbone="tiny", width=8, freeze_backbone_bn=False).train()
    assert all(x.training for x in m2.backbone.modules() if isinstance(x, nn.BatchNorm2d))


def test_semantic_encoder_init_and_shape():
    g = SemanticEncoder(300, 256)
    assert torch.all(g.net[0].bias == 0.01)
    bound = (6 / (300 + 256)) ** 0.5
    assert g.net[0].weight.abs().max() <= bound
    assert g(torch.randn(2, 5, 300)).shape == (2, 5, 256)
    with pytest.raises(ValueError):
        g(torch.randn(3, 299))
    h = SemanticEncoder(8, 4, hidden=6)
    assert count(h) == 8 * 6 + 6 + 6 * 4 + 4


def test_load_imagenet_weights(tmp_path):
    from torchvision.models import resnet50

    from cvcore.errors import CheckpointError
    from gzs3.models.backbones import ResNetBackbone

    src = resnet50(weights=None)
    torch.save(src.state_dict(), tmp_path / "r50.pth")
    bb = ResNetBackbone(50)
    copied = bb.load_imagenet(tmp_path / "r50.pth")
    assert "fc.weight" not in copied and "layer4.2.conv3.weight" in copied
    assert torch.equal(bb.layer3[1].conv2.weight, src.layer3[1].conv2.weight)
    torch.save({"foo": torch.zeros(1)}, tmp_path / "bad.pth")
    with pytest.raises(CheckpointError):
        bb.load_imagenet(tmp_path / "bad.pth")
    (tmp_path / "trunc.pth").write_bytes((tmp_path / "r50.pth").read_bytes()[:1000])
    with pytest.raises(CheckpointError):
        bb.load_imagenet(tmp_path / "trunc.pth")
