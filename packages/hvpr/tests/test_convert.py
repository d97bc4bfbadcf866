"""Official-checkpoint converter: a state dict written here in the official (OpenPCDet/HVPR) naming loads into
HVPR with every tensor in the right place; wrong or truncated files give clear errors."""

from __future__ import annotations

import pytest
import torch

from cvcore.errors import CheckpointError
from hvpr.config import load_config, preset
from hvpr.convert import from_official_state_dict, load_official_checkpoint, to_official_state_dict
from hvpr.model import HVPR


def _official_layout(model: HVPR) -> dict[str, torch.Tensor]:
    """Our tensors under the official module names, built module by module (independent of hvpr.convert)."""
    out: dict[str, torch.Tensor] = {"global_step": torch.tensor([123])}
    sd = model.state_dict()

    def put(prefix_ours: str, prefix_off: str) -> None:
        for k, v in sd.items():
            if k.startswith(prefix_ours + "."):
                out[prefix_off + k[len(prefix_ours):]] = v.clone()

    for i in range(len(model.vfe.layers)):
        put(f"vfe.layers.{i}", f"vfe.pfn_layers.{i}")
    for i in range(len(model.scale_encoder.net) // 3):  # official: Sequential(Linear, BN, ReLU) per layer
        put(f"scale_encoder.net.{3 * i}", f"vfe.pfn_scale_layers.{i}.0")
        put(f"scale_encoder.net.{3 * i + 1}", f"vfe.pfn_scale_layers.{i}.1")
    for k in range(len(model.point_stream.sa)):
        put(f"point_stream.sa.{k}", f"backbone_3d.SA_modules.{k}")
    n_fp = len(model.point_stream.fp)
    for i in range(n_fp):  # official FP_modules[0] is the finest level (applied last)
        put(f"point_stream.fp.{i}", f"backbone_3d.FP_modules.{n_fp - 1 - i}")
    out["map_to_bev_module.memory.weight"] = sd["memory.weight"].clone()
    for name in ("blocks", "deblocks"):
        put(f"backbone.{name}", f"backbone_2d.{name}")
    put("backbone.refine", "backbone_2d.sfmblocks_down")
    for lv in range(len(model.backbone.scale_layers)):  # official: ZeroPad2d(1), Conv, BN, ReLU
        put(f"backbone.scale_layers.{lv}.0", f"backbone_2d.scale_layers.{lv}.1")
        put(f"backbone.scale_layers.{lv}.1", f"backbone_2d.scale_layers.{lv}.2")
    put("backbone.attention_module.conv", "backbone_2d.attention.spatial.conv")
    put("backbone.attention_module.bn", "backbone_2d.attention.spatial.norm")
    put("head", "dense_head")
    return out


@pytest.fixture(scope="module")
def source():
    torch.manual_seed(3)
    model = HVPR(preset("tiny_synthetic"))
    with torch.no_grad():
        for k, t in model.state_dict().items():
            if t.is_floating_point():  # every tensor distinct, so a wrong placement cannot go unnoticed
                t.uniform_(0.5, 1.5) if k.endswith("running_var") else t.uniform_(-1, 1)
    return model


def test_official_names_and_shapes(source):
    off = _official_layout(source)
    # a few names and shapes of the official layout, spelled out
    assert off["vfe.pfn_scale_layers.1.0.weight"].shape == (16, 8)
    assert off["backbone_2d.scale_layers.2.1.weight"].shape == (64, 32, 3, 3)
    assert off["backbone_3d.FP_modules.0.mlp.0.weight"].shape == (32, 33, 1, 1)  # finest: 32 interpolated + 1 input
    assert off["backbone_3d.FP_modules.1.mlp.0.weight"].shape == (32, 96, 1, 1)  # coarsest: 64 + 32 skip
    assert off["backbone_2d.attention.spatial.norm.running_var"].shape == (1,)
    assert off["map_to_bev_module.memory.weight"].shape == (64, 32)
    assert len(off) == len(source.state_dict()) + 1  # + global_step


def test_load_official_checkpoint_places_every_tensor(source, tmp_path):
    off = _official_layout(source)
    path = tmp_path / "hvpr_official.pth"
    torch.save({"epoch": 80, "it": 1000, "model_state": {"module." + k: v for k, v in off.items()},
                "optimizer_state": None, "version": "pcdet+0.3.0"}, path)
    model = load_official_checkpoint(path, preset("tiny_synthetic"))
    for k, v in source.state_dict().items():
        assert torch.equal(model.state_dict()[k], v), k
    # the inverse mapping gives the official names back
    back = to_official_state_dict(model.state_dict())
    assert set(back) == set(off) - {"global_step"}
    assert all(torch.equal(back[k], off[k]) for k in back)
    # same eval outputs as the source model on a scan
    pts = torch.rand(3000, 4) * torch.tensor([20.0, 20.0, 3.0, 1.0]) - torch.tensor([0.0, 10.0, 2.5, 0.0])
    src_logits, new_logits = [], []
    h1 = source.head.register_forward_hook(lambda m, i, o: src_logits.append(o[0]))
    h2 = model.head.register_forward_hook(lambda m, i, o: new_logits.append(o[0]))
    for m in (source, model):
        m.config.post.score_thresh = 2.0  # no box passes: compare the raw head outputs, skip NMS
    try:
        source.eval()(source.make_batch([pts]))
        model.eval()(model.make_batch([pts]))
    finally:
        source.config.post.score_thresh = model.config.post.score_thresh = 0.1
    h1.remove()
    h2.remove()
    torch.testing.assert_close(src_logits[0], new_logits[0], rtol=0, atol=0)


def test_plain_state_dict_file_and_errors(source, tmp_path):
    off = _official_layout(source)
    plain = tmp_path / "plain.pth"
    torch.save(off, plain)
    assert torch.equal(load_official_checkpoint(plain, preset("tiny_synthetic")).memory.weight, source.memory.weight)
    with pytest.raises(CheckpointError, match="wrong shape"):  # another memory size
        load_official_checkpoint(plain, load_config("tiny_synthetic", ["model.memory.num_items=16"]))
    trunc = tmp_path / "trunc.pth"
    trunc.write_bytes(plain.read_bytes()[:300])
    with pytest.raises(CheckpointError):
        load_official_checkpoint(trunc, preset("tiny_synthetic"))
    with pytest.raises(CheckpointError, match="not found"):
        load_official_checkpoint(tmp_path / "missing.pth", preset("tiny_synthetic"))
    with pytest.raises(CheckpointError, match="no counterpart"):
        from_official_state_dict({**off, "roi_head.fc.weight": torch.zeros(1)})
    missing = dict(off)
    del missing["dense_head.conv_box.bias"]
    torch.save(missing, plain)
    with pytest.raises(CheckpointError, match="missing 1"):
        load_official_checkpoint(plain, preset("tiny_synthetic"))
