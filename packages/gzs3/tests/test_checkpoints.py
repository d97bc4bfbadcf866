import pytest
import torch

from cvcore.errors import CheckpointError
from gzs3.checkpoints import load_official_checkpoint, official_to_ours
from gzs3.models import DeepLabV3PlusEncoder, SemanticEncoder

# our key prefix -> the official model/deeplabv3.py key (written independently of the loader)
OURS_TO_OFFICIAL = [("aspp.pool.", "aspp.convs.4."), ("aspp.branches.", "aspp.convs."), ("decoder.low.", "decoder.project."),
                    ("decoder.fuse.", "decoder.last_conv."), ("classifier.", "decoder.pred_conv.")]


def to_official(state):
    out = {}
    for k, v in state.items():
        if k.endswith("num_batches_tracked"):
            continue  # SynchronizedBatchNorm2d files may lack it
        for a, b in OURS_TO_OFFICIAL:
            if k.startswith(a):
                k = b + k[len(a):]
                break
        out["module." + k] = v
    return out


def write_pair(tmp_path, visual, semantic):
    fe = {"arch": "DeepLabV3Plus", "epoch": 50, "state_dict": to_official(visual.state_dict()), "optimizer": {}, "monitor_best": 0}
    gen = {"arch": "GeneratorMLP", "epoch": 50, "optimizer": {}, "monitor_best": 0,
           "state_dict": {"model.weight": semantic.net[0].weight.detach(), "model.bias": semantic.net[0].bias.detach()}}
    folder = tmp_path / "saved_fe_models"  # a folder name containing "fe": the official path rewrite would break
    folder.mkdir()
    torch.save(fe, folder / "fe_checkpoint-epoch50.pth")
    torch.save(gen, folder / "gen_checkpoint-epoch50.pth")
    return folder / "fe_checkpoint-epoch50.pth", folder / "gen_checkpoint-epoch50.pth"


def test_official_pair_roundtrip(tmp_path):
    visual = DeepLabV3PlusEncoder(5, backbone="tiny", width=8).eval()
    for m in visual.modules():  # non-trivial BN statistics
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
    semantic = SemanticEncoder(6, 8)
    fe, gen = write_pair(tmp_path, visual, semantic)
    table = torch.randn(5, 6)
    model = load_official_checkpoint(fe, None, table, unseen=[3], backbone="tiny", width=8).eval()
    x = torch.randn(1, 3, 32, 32)
    torch.testing.assert_close(model.visual(x)[1], visual(x)[1])
    torch.testing.assert_close(model.prototypes(), semantic(table))
    assert model.unseen == [3]
    model2 = load_official_checkpoint(fe, gen, table, unseen=[3], backbone="tiny", width=8)
    assert torch.equal(model2.predict(x), model.predict(x))


def test_official_errors(tmp_path):
    visual = DeepLabV3PlusEncoder(5, backbone="tiny", width=8)
    semantic = SemanticEncoder(6, 8)
    fe, gen = write_pair(tmp_path, visual, semantic)
    with pytest.raises(CheckpointError, match="not found"):
        load_official_checkpoint(tmp_path / "nope.pth", gen, torch.randn(5, 6), backbone="tiny", width=8)
    trunc = tmp_path / "trunc.pth"
    trunc.write_bytes(fe.read_bytes()[:500])
    with pytest.raises(CheckpointError, match="truncated"):
        load_official_checkpoint(trunc, gen, torch.randn(5, 6), backbone="tiny", width=8)
    with pytest.raises(CheckpointError, match="does not fit"):
        load_official_checkpoint(fe, gen, torch.randn(5, 6), backbone="tiny", width=16)
    with pytest.raises(CheckpointError, match="unexpected key"):
        official_to_ours({"head.weight": torch.zeros(1)})
    with pytest.raises(CheckpointError, match="dims"):
        load_official_checkpoint(fe, gen, torch.randn(5, 7), backbone="tiny", width=8)


def test_official_spnet_deeplabv2_pair(tmp_path):
    from gzs3.models import DeepLabV2Encoder

    visual = DeepLabV2Encoder(4, backbone="tiny", width=4).eval()
    semantic = SemanticEncoder(6, visual.feature_dim)
    state = {("pred_conv." + k[len("classifier."):] if k.startswith("classifier.") else k): v
             for k, v in visual.state_dict().items() if not k.endswith("num_batches_tracked")}
    assert "pred_conv.weight" in state and "aspp.c2.weight" in state
    fe = {"arch": "DeepLabV2_classifier_600", "epoch": 50, "state_dict": state}
    gen = {"arch": "GeneratorMLP", "state_dict": {"model.weight": semantic.net[0].weight.detach(),
                                                  "model.bias": semantic.net[0].bias.detach()}}
    torch.save(fe, tmp_path / "FE_checkpoint-epoch50.pth")
    torch.save(gen, tmp_path / "Gen_checkpoint-epoch50.pth")
    table = torch.randn(4, 6)
    model = load_official_checkpoint(tmp_path / "FE_checkpoint-epoch50.pth", None, table, unseen=[3], backbone="tiny", width=4)
    assert isinstance(model.visual, DeepLabV2Encoder)
    x = torch.randn(1, 3, 33, 33)
    torch.testing.assert_close(model.visual(x)[1], visual(x)[1])
    torch.testing.assert_close(model.prototypes(), semantic(table))
    with pytest.raises(CheckpointError, match="DeepLab-V2"):
        load_official_checkpoint(tmp_path / "FE_checkpoint-epoch50.pth", None, table, backbone="tiny", width=8)
