"""Model sizes and shapes (§4), official-checkpoint loading (§10.4)."""

import pytest
import torch
from torch import nn

import ewgs
from cvcore.checkpoint import save_checkpoint
from cvcore.quant import count_parameters
from ewgs import EWGSConv2d, EWGSLinear, models
from ewgs.checkpoint import levels_to_bits, load_official_checkpoint, to_official_state_dict
from ewgs.errors import CheckpointError


def _nq(m):
    return sum(isinstance(x, (EWGSConv2d, EWGSLinear)) and x.quantized for x in m.modules())


def test_resnet20_full_size():
    m = models.resnet20()
    assert _nq(m) == 18 and isinstance(m.bn1, nn.BatchNorm2d) and m.stem_bn
    assert count_parameters(m) == 269_850 + 18 * 5
    assert count_parameters(models.resnet20_fp()) == 269_850
    assert m(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    assert set(models.resnet20_fp().state_dict()) <= set(m.state_dict())  # FP checkpoint loads by key intersection


def test_imagenet_models_full_size():
    r18, r34 = models.resnet18(), models.resnet34()
    assert _nq(r18) == 19 and _nq(r34) == 35
    assert count_parameters(r18) == 11_689_512 + 19 * 5
    assert count_parameters(r34) == 21_797_672 + 35 * 5
    mb = models.mobilenet_v2()
    assert _nq(mb) == 53 and mb.features[0][0].w_bits == 4 and mb.classifier[1].a_bits == 4
    assert models.get("small", w_bits=2, a_bits=2, width=4)(torch.randn(2, 1, 28, 28)).shape == (2, 10)
    with pytest.raises(ewgs.errors.ConfigError):
        models.get("vgg")


def _official_file(tmp_path, model, layout):
    sd = to_official_state_dict(model.state_dict())
    if layout == "cifar":
        payload = {"epoch": 3, "model": sd, "optimizer_m": {}, "criterion": nn.CrossEntropyLoss()}
    else:
        payload = {"epoch": 3, "arch": "resnet18", "state_dict": {"module." + k: v for k, v in sd.items()}}
    path = tmp_path / f"{layout}.pth"
    torch.save(payload, path)
    return path, sd


@pytest.mark.parametrize("layout", ["cifar", "imagenet"])
def test_official_checkpoint_reproduces_logits(tmp_path, layout):
    torch.manual_seed(0)
    a = models.resnet20(w_bits=1, a_bits=1, width=4)
    x = torch.randn(3, 3, 16, 16)
    ewgs.initialize(a, x)
    with torch.no_grad():
        a.layer1[0].conv1.delta_w.fill_(1e-3)
    a.eval()
    path, sd = _official_file(tmp_path, a, layout)
    assert "layer1.0.conv1.uW" in sd and "layer1.0.conv1.bkwd_scaling_factorA" in sd and sd["layer1.0.conv1.init"].shape == (1,)
    b = models.resnet20(w_bits=1, a_bits=1, width=4).eval()
    load_official_checkpoint(path, b, weight_levels=2, act_levels=2)
    assert torch.equal(a(x), b(x))
    assert b.layer1[0].conv1.delta_w.item() == pytest.approx(1e-3) and bool(b.layer1[0].conv1.initialized)


def test_official_checkpoint_errors(tmp_path):
    torch.manual_seed(0)
    a = models.resnet20(w_bits=2, a_bits=2, width=4)
    ewgs.initialize(a, torch.randn(2, 3, 8, 8))
    path, sd = _official_file(tmp_path, a, "cifar")
    b = models.resnet20(w_bits=2, a_bits=2, width=4)
    with pytest.raises(CheckpointError, match="levels"):
        load_official_checkpoint(path, b, weight_levels=4, act_levels=2)  # 4 levels = 2 bits ok; act 2 levels != 2 bits
    trunc = tmp_path / "trunc.pth"
    trunc.write_bytes(path.read_bytes()[:200])
    with pytest.raises(CheckpointError, match="truncated"):
        load_official_checkpoint(trunc, b)
    with pytest.raises(CheckpointError, match="not found"):
        load_official_checkpoint(tmp_path / "none.pth", b)
    fp = tmp_path / "fp.pth"
    torch.save({"model": models.resnet20_fp(width=4).state_dict()}, fp)
    with pytest.raises(CheckpointError, match="quantizer keys"):
        load_official_checkpoint(fp, b)
    other = tmp_path / "daq.pt"
    save_checkpoint(other, package="daq", version="0.1.0", model=b)
    with pytest.raises(CheckpointError, match="daq"):
        load_official_checkpoint(other, b)
    junk = tmp_path / "junk.pth"
    torch.save({"foo": 1}, junk)
    with pytest.raises(CheckpointError, match="not an EWGS checkpoint"):
        load_official_checkpoint(junk)
    assert levels_to_bits(16) == 4
    with pytest.raises(CheckpointError):
        levels_to_bits(3)


def test_uninitialized_official_layer_reinitializes():
    from ewgs.checkpoint import convert_official_state_dict

    sd = {"c.uW": torch.tensor(0.0), "c.lW": torch.tensor(0.0), "c.init": torch.tensor([0])}
    assert not bool(convert_official_state_dict(sd)["c.initialized"])
    sd = {"c.uW": torch.tensor(1.0), "c.lW": torch.tensor(-1.0), "c.init": torch.tensor([0])}
    assert bool(convert_official_state_dict(sd)["c.initialized"])
    sd["c.init"] = torch.tensor([1])
    assert not bool(convert_official_state_dict(sd)["c.initialized"])


def test_mobilenet_v2_profit_variant_full_size():
    import torchvision

    fp = models.mobilenet_v2_fp()
    tv = torchvision.models.mobilenet_v2(weights=None)
    assert count_parameters(fp) == count_parameters(tv) == 3_504_872
    assert set(fp.state_dict()) == set(tv.state_dict())  # torchvision FP weights load by key
    fp.load_state_dict(tv.state_dict())
    assert isinstance(fp.features[-1][2], nn.Identity) and isinstance(tv.features[-1][2], nn.ReLU6)
    fp.eval()
    with torch.no_grad():
        assert fp(torch.randn(2, 3, 64, 64)).shape == (2, 1000)
        z = torch.randn(2, 1280, 4, 4) * 8  # stand-in for the (signed) output of the last conv + BN
        head = fp.classifier(torch.relu(z).mean((2, 3)).clamp(max=6.0))  # PROFIT: ReLU, pool, ReLU6
        fp.features = nn.Identity()
        torch.testing.assert_close(fp(z), head)
        tv_head = fp.classifier(torch.clamp(z, 0, 6).mean((2, 3)))  # torchvision: ReLU6 inside, pool
        assert not torch.allclose(head, tv_head)
    q = models.get("mobilenet_v2")
    assert isinstance(q, models.ProfitMobileNetV2) and _nq(q) == 53
    assert count_parameters(q) == 3_504_872 + 53 * 5
    assert q.features[0][0].w_bits == 4 and q.classifier[1].a_bits == 4
    assert not isinstance(models.get("mobilenet_v2_tv"), models.ProfitMobileNetV2)
    tiny = models.mobilenet_v2(2, 2, num_classes=5, width_mult=0.25)
    assert tiny(torch.relu(torch.randn(2, 3, 32, 32))).shape == (2, 5)
    with pytest.raises(ewgs.errors.ConfigError):
        models.mobilenet_v2(variant="v3")


def test_build_model_selects_the_mobilenet_variant():
    from ewgs.config import ModelConfig
    from ewgs.engine.train import build_model

    m = build_model(ModelConfig(arch="mobilenet_v2", w_bits=4, a_bits=4, skip_first=False, skip_last=False), 10)
    assert isinstance(m, models.ProfitMobileNetV2) and _nq(m) == 53
    tv = build_model(ModelConfig(arch="mobilenet_v2_tv", w_bits=32, a_bits=32), 10)
    assert not isinstance(tv, models.ProfitMobileNetV2) and _nq(tv) == 0
