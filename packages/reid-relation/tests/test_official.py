"""load_official_checkpoint: the official key layout, a pickled whole model, bad files."""

import sys
import types
from collections import OrderedDict

import pytest
import torch

from cvcore.errors import CheckpointError
from reid_relation import RelationNet, load_official_checkpoint
from reid_relation.commands import _load_state
from reid_relation.official import official_to_ours, ours_to_official


def _official_sd(model):
    return OrderedDict(("module." + ours_to_official(k), v.clone()) for k, v in model.state_dict().items())


def test_official_names():
    m = RelationNet(5, backbone="resnet18", width=8, feat_dim=16)
    names = set(_official_sd(m))
    for key in ("module.base.conv1.weight", "module.local_6_conv_list.0.0.weight", "module.fc_global_rest_2_list.0.bias",
                "module.relation_4_conv_list.3.1.running_mean", "module.global_2_pooling_conv_list.0.0.weight",
                "module.fc_local_rest_6_list.5.weight", "module.fc_global_max_4_list.0.weight"):
        assert key in names
    assert all(official_to_ours(ours_to_official(k)) == k for k in m.state_dict())


def test_plain_state_dict_loads_strictly(tmp_path):
    src = RelationNet(5, backbone="resnet18", width=8, feat_dim=16)
    sd = _official_sd(src)
    for k in [k for k in sd if k.endswith("num_batches_tracked")]:
        del sd[k]  # PyTorch 0.4.1 files have none
    torch.save(sd, tmp_path / "official.pth")
    dst = RelationNet(5, backbone="resnet18", width=8, feat_dim=16)
    _load_state(dst, load_official_checkpoint(tmp_path / "official.pth"))
    for k, v in src.state_dict().items():
        if not k.endswith("num_batches_tracked"):
            torch.testing.assert_close(dst.state_dict()[k], v)


def test_pickled_whole_model_with_missing_modules(tmp_path):
    src = RelationNet(3, backbone="resnet18", width=8, feat_dim=16)
    # fabricate the official module: a class named RelationModel in a module that will not exist at load time
    mod = types.ModuleType("Relation_final_ver_last_multi_scale_large_losses")

    class RelationModel(torch.nn.Module):
        pass

    RelationModel.__module__ = mod.__name__
    RelationModel.__qualname__ = "RelationModel"
    mod.RelationModel = RelationModel
    sys.modules[mod.__name__] = mod
    try:
        fake = RelationModel()
        for k, v in _official_sd(src).items():
            k = k[len("module."):]
            *path, leaf = k.split(".")
            node = fake
            for p in path:
                if p not in node._modules:
                    node.add_module(p, torch.nn.Module())
                node = node._modules[p]
            node.register_buffer(leaf, v)
        torch.save(torch.nn.DataParallel(fake), tmp_path / "model.pth")
    finally:
        del sys.modules[mod.__name__]
    sd = load_official_checkpoint(tmp_path / "model.pth")
    dst = RelationNet(3, backbone="resnet18", width=8, feat_dim=16)
    _load_state(dst, sd)
    torch.testing.assert_close(dst.state_dict()["relation.6.local.0.0.weight"],
                               src.state_dict()["relation.6.local.0.0.weight"])


def test_bad_files(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        load_official_checkpoint(tmp_path / "none.pth")
    src = RelationNet(3, backbone="resnet18", width=8, feat_dim=16)
    torch.save(_official_sd(src), tmp_path / "ok.pth")
    data = (tmp_path / "ok.pth").read_bytes()
    (tmp_path / "trunc.pth").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated"):
        load_official_checkpoint(tmp_path / "trunc.pth")
    torch.save({"weight": torch.zeros(2)}, tmp_path / "other.pth")
    with pytest.raises(CheckpointError, match="RelationModel"):
        load_official_checkpoint(tmp_path / "other.pth")
    wrong = RelationNet(4, backbone="resnet18", width=8, feat_dim=16)
    with pytest.raises(CheckpointError, match="does not fit"):
        _load_state(wrong, load_official_checkpoint(tmp_path / "ok.pth"))
