
import pytest
import torch

from cvcore.errors import CheckpointError
from sfnet.models import AdaptationBlock, SFNet
from sfnet.official import load_official_checkpoint


def _count(module):
    return sum(p.numel() for p in module.parameters())


def test_full_size_parameter_counts_on_meta_device():
    with torch.device("meta"):
        m = SFNet(backbone="resnet101")
    assert _count(m.adapt4) == 52_434_944
    assert _count(m.adapt5) == 75_509_760
    assert _count(m.backbone) == 42_500_160
    assert sum(p.numel() for p in m.parameters() if p.requires_grad) == 52_434_944 + 75_509_760
    assert m.input_size == (320, 320)


def test_adaptation_block_is_residual_and_keeps_shape():
    blk = AdaptationBlock(8, 5)
    x = torch.randn(2, 8, 6, 6)
    assert blk(x).shape == x.shape
    for seq in (blk.conv1, blk.conv2):
        torch.nn.init.zeros_(seq[0].weight)
        torch.nn.init.zeros_(seq[0].bias)
        seq[1].reset_running_stats()
    blk.eval()
    torch.testing.assert_close(blk(x), x)  # ReLU(BN(0)) = 0 in eval mode: identity
    with pytest.raises(ValueError):
        AdaptationBlock(4, 4)


def test_tiny_forward_shapes_and_frozen_backbone():
    m = SFNet(backbone="tiny", feature_size=(6, 6))
    m.train()
    assert not m.backbone.training and m.adapt4.training
    src, tgt = torch.randn(2, 3, 96, 96), torch.randn(2, 3, 96, 96)
    ms = (torch.rand(2, 1, 6, 6) > 0.5).float()
    out = m(src, tgt, ms, ms)
    assert out.grid_s2t.shape == (2, 6, 6, 2) and out.flow_t2s.shape == (2, 2, 6, 6)
    assert out.corr_s2t.shape == (2, 36, 6, 6)
    assert out.warped_src_mask.shape == (2, 1, 6, 6) and out.smooth_s2t.shape == (2, 1, 6, 6)
    assert out.grid_s2t.abs().max() <= 1.0 + 1e-6
    out.flow_s2t.sum().backward()
    assert all(p.grad is None for p in m.backbone.parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in m.adapt4.parameters())
    with pytest.raises(ValueError):
        m(src, tgt, ms, None)
    with pytest.raises(ValueError):
        m(src, tgt, torch.ones(2, 1, 5, 5), torch.ones(2, 1, 5, 5))


def test_same_image_gives_near_identity_with_hard_argmax():
    m = SFNet(backbone="tiny", beta=None).eval()
    x = torch.randn(1, 3, 128, 128)
    with torch.no_grad():
        out = m(x, x)
    assert out.flow_s2t.abs().max() < 1e-6  # every cell is its own best match


@pytest.mark.slow
def test_resnet101_forward_shapes_64px():
    m = SFNet(backbone="resnet101").eval()
    with torch.no_grad():
        out = m(torch.randn(1, 3, 64, 64), torch.randn(1, 3, 64, 64))
    assert out.grid_s2t.shape == (1, 4, 4, 2) and out.corr_t2s.shape == (1, 16, 4, 4)


def test_official_checkpoint_roundtrip_and_errors(tmp_path):
    src = SFNet(backbone="tiny")
    for p in src.adaptation_parameters():
        p.data.normal_()
    state = {"state_dict1": {f"module.{k}": v for k, v in src.adapt4.state_dict().items()},
             "state_dict2": src.adapt5.state_dict()}
    path = tmp_path / "best_checkpoint.pt"
    torch.save(state, path)
    dst = load_official_checkpoint(path, backbone="tiny")
    for a, b in zip(src.adaptation_parameters(), dst.adaptation_parameters()):
        torch.testing.assert_close(a, b)
    # truncated file
    bad = tmp_path / "truncated.pt"
    bad.write_bytes(path.read_bytes()[:200])
    with pytest.raises(CheckpointError, match="truncated"):
        load_official_checkpoint(bad, backbone="tiny")
    # wrong keys
    torch.save({"model": {}}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="state_dict1"):
        load_official_checkpoint(tmp_path / "other.pt", backbone="tiny")
    # wrong shapes (a ResNet-101 block into the tiny model)
    torch.save({"state_dict1": AdaptationBlock(8, 5).state_dict(), "state_dict2": AdaptationBlock(8, 3).state_dict()},
               tmp_path / "shape.pt")
    with pytest.raises(CheckpointError, match="does not fit"):
        load_official_checkpoint(tmp_path / "shape.pt", backbone="tiny")
    with pytest.raises(CheckpointError, match="not found"):
        load_official_checkpoint(tmp_path / "missing.pt", backbone="tiny")


#: the state-dict keys of the official ``adap_layer_feat3`` / ``adap_layer_feat4`` modules: attributes
#: ``conv1`` and ``conv2``, each ``nn.Sequential(Conv2d, BatchNorm2d, ReLU)`` (read in a fork that
#: carries the official ``model.py``/``train.py``; ``train.py`` saves their ``state_dict()`` as
#: ``state_dict1`` / ``state_dict2``).
OFFICIAL_BLOCK_KEYS = [f"{c}.{k}" for c in ("conv1", "conv2") for k in (
    "0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var", "1.num_batches_tracked")]


def test_adaptation_blocks_have_the_official_key_names_and_shapes():
    with torch.device("meta"):
        m = SFNet(backbone="resnet101")
    sd = m.adaptation_state_dict()
    assert list(sd) == ["state_dict1", "state_dict2"]
    for key, c, k in (("state_dict1", 1024, 5), ("state_dict2", 2048, 3)):
        assert list(sd[key]) == OFFICIAL_BLOCK_KEYS
        assert tuple(sd[key]["conv1.0.weight"].shape) == (c, c, k, k)
        assert tuple(sd[key]["conv2.1.running_var"].shape) == (c,)


def test_official_layout_written_by_name_loads(tmp_path):
    """A file built from the literal official key names (not from our modules) loads strictly,
    also without ``num_batches_tracked`` (files from PyTorch < 0.4.1; the official loader is lenient)."""
    ref = SFNet(backbone="tiny")
    c4, c5 = ref.adapt4.conv1[0].in_channels, ref.adapt5.conv1[0].in_channels
    g = torch.Generator().manual_seed(0)

    def block(c, k, with_count=True):
        shapes = {"0.weight": (c, c, k, k), "0.bias": (c,), "1.weight": (c,), "1.bias": (c,),
                  "1.running_mean": (c,), "1.running_var": (c,)}
        sd = {f"{n}.{s}": torch.rand(shape, generator=g) for n in ("conv1", "conv2") for s, shape in shapes.items()}
        if with_count:
            sd.update({f"{n}.1.num_batches_tracked": torch.tensor(7) for n in ("conv1", "conv2")})
        return sd

    for with_count in (True, False):
        state = {"state_dict1": block(c4, 5, with_count), "state_dict2": block(c5, 3, with_count)}
        path = tmp_path / f"best_checkpoint_{with_count}.pt"
        torch.save(state, path)
        m = load_official_checkpoint(path, backbone="tiny")
        torch.testing.assert_close(m.adapt4.conv2[1].running_var, state["state_dict1"]["conv2.1.running_var"])
        torch.testing.assert_close(m.adapt5.conv1[0].weight, state["state_dict2"]["conv1.0.weight"])
    # a misspelt key (e.g. a re-implementation's names) is refused with the key in the message
    bad = {"state_dict1": {k.replace("conv1", "block1"): v for k, v in block(c4, 5).items()},
           "state_dict2": block(c5, 3)}
    torch.save(bad, tmp_path / "renamed.pt")
    with pytest.raises(CheckpointError, match="state_dict1"):
        load_official_checkpoint(tmp_path / "renamed.pt", backbone="tiny")
