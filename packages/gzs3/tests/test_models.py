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


def test_deeplabv2_spnet_full_size_parameter_counts_and_shapes():
    from gzs3.models import DeepLabV2Encoder

    with torch.device("meta"):
        m = DeepLabV2Encoder(21).eval()
        logits, v = m(torch.empty(1, 3, 321, 321))
    assert count(m.backbone) == 42_500_160  # same ResNet-101 size, Caffe layout
    assert count(m.aspp) == 4 * (2048 * 9 * 600 + 600) == 44_239_200
    assert count(m.classifier) == 600 * 21 + 21
    assert count(m) == 86_751_981
    assert count(SemanticEncoder(600, 600)) == 360_600
    assert v.shape == (1, 600, 41, 41) and logits.shape == (1, 21, 321, 321)  # OS 8, ceil-mode pooling
    keys = set(m.state_dict())
    assert {"backbone.layer1.conv1.conv.weight", "backbone.layer2.block1.shortcut.conv.weight",
            "backbone.layer4.block23.conv3x3.bn.running_var", "aspp.c3.bias", "classifier.weight"} <= keys
    blk = m.backbone.layer3.block1
    assert blk.reduce.conv.stride == (2, 2) and blk.conv3x3.conv.stride == (1, 1)  # stride on the 1x1
    assert [b.conv3x3.conv.dilation for b in m.backbone.layer5] == [(4, 4)] * 3
    assert m.backbone.layer4.block1.conv3x3.conv.dilation == (2, 2)


def test_deeplabv2_tiny_matches_its_definition():
    from gzs3.models import DeepLabV2Encoder

    m = DeepLabV2Encoder(5, backbone="tiny", width=4).eval()
    x = torch.randn(2, 3, 41, 50)
    logits, v = m(x)
    assert v.shape == (2, 16, 6, 7) and logits.shape == (2, 5, 41, 50)
    with torch.no_grad():  # v = ReLU(sum of the four atrous branches), logits = upsampled 1x1 classifier
        h = m.backbone(x)
        ref = torch.relu(sum(conv(h) for conv in (m.aspp.c0, m.aspp.c1, m.aspp.c2, m.aspp.c3)))
        up = torch.nn.functional.interpolate(m.classifier(ref), size=(41, 50), mode="bilinear", align_corners=True)
    torch.testing.assert_close(v, ref)
    torch.testing.assert_close(logits, up)
    assert (v >= 0).all()
    m.train()
    assert all(not b.training for b in m.backbone.modules() if isinstance(b, nn.BatchNorm2d))
    bb, head = m.parameter_groups()
    assert len(bb) + len(head) == len(list(m.parameters()))
    with pytest.raises(ValueError):
        DeepLabV2Encoder(5, backbone="resnet50")


def test_deeplabv2_selectable_from_config_and_cli(tmp_path):
    import json

    from cvcore.config import load_config
    from gzs3.cli import main
    from gzs3.config import TrainConfig, preset_path
    from gzs3.engine.builders import build_class_setup, build_model
    from gzs3.models import DeepLabV2Encoder

    cfg = load_config(TrainConfig, preset_path("synthetic_tiny"), ["model.arch=deeplabv2", "model.width=4"])
    model = build_model(cfg, build_class_setup(cfg))
    assert isinstance(model.visual, DeepLabV2Encoder) and model.semantic.out_dim == 16
    out = tmp_path / "v2"
    assert main(["train", "--preset", "synthetic_tiny", "--arch", "deeplabv2", "--set", "model.width=4",
                 "--set", "optim.epochs=1", "--set", "optim.batch_size=4", "--set", "data.synthetic_train=4",
                 "--set", "data.synthetic_val=1", "--set", "data.synthetic_size=32", "--output-dir", str(out), "-q"]) == 0
    from gzs3.checkpoints import load_trained

    loaded, lcfg, _ = load_trained(out / "last.pt")
    assert lcfg.model.arch == "deeplabv2" and isinstance(loaded.visual, DeepLabV2Encoder)
    assert "apollonius" in json.loads((out / "metrics.json").read_text())["metrics"]
    assert main(["train", "--preset", "synthetic_tiny", "--arch", "resnet"]) == 2
