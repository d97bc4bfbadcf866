import pytest
import torch

from bap.models import BAPClassifier, DeepLabLargeFOV, DeepLabV2ASPP
from bap.official import load_backbone_weights, load_official_checkpoint, load_official_state_dict
from cvcore.errors import CheckpointError


def _official_keys_vgg(model):
    # the official Labeler / DeepLab_LargeFOV layout: backbone.conv1_1 ... backbone.fc7, classifier
    # (another randomly initialised instance: its values differ from the model we load into)
    return dict(model.state_dict())


def test_stage1_checkpoint_in_official_layout_loads(tmp_path):
    sd = _official_keys_vgg(BAPClassifier(21, "vgg16"))
    assert "backbone.conv1_1.weight" in sd and "backbone.fc7.bias" in sd and "classifier.weight" in sd
    torch.save({"module." + k: v for k, v in sd.items()}, tmp_path / "ClsNet.pt")  # DataParallel prefix
    m = load_official_checkpoint(tmp_path / "ClsNet.pt", "stage1")
    assert torch.equal(m.classifier.weight, sd["classifier.weight"])
    assert torch.equal(m.backbone.conv5_3.weight, sd["backbone.conv5_3.weight"])


def test_stage3_layouts_load(tmp_path):
    sd = _official_keys_vgg(DeepLabLargeFOV(21, "tiny", width=8))
    torch.save({"state_dict": sd}, tmp_path / "SegNet_VGG.pt")
    m = DeepLabLargeFOV(21, "tiny", width=8)
    from bap.official import _read

    load_official_state_dict(m, _read(tmp_path / "SegNet_VGG.pt"))
    assert torch.equal(m.backbone.fc6.weight, sd["backbone.fc6.weight"])
    small = DeepLabV2ASPP(21, blocks=(1, 1, 1, 1))
    sd2 = _official_keys_vgg(small)
    for key in ("backbone.layer1.conv1.conv.weight", "backbone.layer2.block1.reduce.bn.running_var",
                "backbone.layer5.block1.shortcut.conv.weight", "c4.weight", "classifier.weight"):
        assert key in sd2
    fresh = DeepLabV2ASPP(21, blocks=(1, 1, 1, 1))
    load_official_state_dict(fresh, sd2)
    assert torch.equal(fresh.c4.weight, sd2["c4.weight"])


def test_wrong_truncated_or_missing_files(tmp_path):
    sd = BAPClassifier(21, "tiny", width=8).state_dict()
    torch.save(sd, tmp_path / "cls.pt")
    with pytest.raises(CheckpointError, match="does not match"):
        load_official_state_dict(DeepLabV2ASPP(21, blocks=(1, 1, 1, 1)), sd)
    raw = (tmp_path / "cls.pt").read_bytes()
    (tmp_path / "trunc.pt").write_bytes(raw[: len(raw) // 3])
    with pytest.raises(CheckpointError, match="truncated"):
        load_official_checkpoint(tmp_path / "trunc.pt", "stage1")
    with pytest.raises(CheckpointError, match="not found"):
        load_official_checkpoint(tmp_path / "none.pt", "stage1")
    bad = dict(sd)
    bad["classifier.weight"] = torch.zeros(20, 8, 1, 1)
    with pytest.raises(CheckpointError, match="shape"):
        load_official_state_dict(BAPClassifier(21, "tiny", width=8), bad)


def test_caffe_vgg_init_weights_load_non_strictly(tmp_path):
    m = BAPClassifier(4, "tiny", width=8)
    bare = {k: torch.randn_like(v) for k, v in m.backbone.state_dict().items() if k.startswith(("conv", "fc"))}
    torch.save(bare, tmp_path / "vgg_caffe.pth")
    target = BAPClassifier(4, "tiny", width=8)
    before = target.classifier.weight.clone()
    loaded = load_backbone_weights(target, tmp_path / "vgg_caffe.pth")
    assert "conv1_1.weight" in loaded and torch.equal(target.backbone.fc7.weight, bare["fc7.weight"])
    assert torch.equal(target.classifier.weight, before)
    torch.save({"unrelated": torch.zeros(1)}, tmp_path / "other.pth")
    with pytest.raises(CheckpointError):
        load_backbone_weights(target, tmp_path / "other.pth")
