"""Loading the authors' files: a whole pickled ``convAE`` in the official module layout, its
state dict, and ``keys.pt`` -- written by the test, since no weights may be downloaded."""

import pytest
import torch
from torch import nn

from cvcore.errors import CheckpointError
from mnad.models import MNADPredictor, MNADReconstructor
from mnad.models.official import load_official, read_official_state_dict


class Encoder(nn.Module):
    pass


class Decoder(nn.Module):
    pass


class Memory(nn.Module):
    pass


class convAE(nn.Module):  # noqa: N801 - the official class name
    """A module tree with the official attribute names, around the tensors of our model."""

    def __init__(self, ours):
        super().__init__()
        self.encoder, self.decoder, self.memory = Encoder(), Decoder(), Memory()
        e, d = ours.encoder, ours.decoder
        for i in (1, 2, 3, 4):
            setattr(self.encoder, f"moduleConv{i}", getattr(e, f"enc{i}"))
            if i < 4:
                setattr(self.encoder, f"modulePool{i}", nn.MaxPool2d(2, 2))
        self.encoder.moduleBatchNorm = e.unused_bn
        self.encoder.moduleReLU = nn.ReLU()
        for official, mine in (("moduleConv", "dec0"), ("moduleUpsample4", "up4"), ("moduleDeconv3", "dec3"),
                               ("moduleUpsample3", "up3"), ("moduleDeconv2", "dec2"),
                               ("moduleUpsample2", "up2"), ("moduleDeconv1", "gen")):
            setattr(self.decoder, official, getattr(d, mine))


def _randomise(model):
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for t in model.state_dict().values():
            if t.is_floating_point():
                t.copy_(torch.rand(t.shape, generator=g) * 0.2 + 0.5 if t.ndim <= 1 else torch.randn(t.shape, generator=g) * 0.1)
    model.memory.reset(g)
    return model.eval()


@pytest.fixture
def official_files(tmp_path):
    ours = _randomise(MNADPredictor(width=4, num_items=5, compat="official"))
    torch.save(convAE(ours), tmp_path / "model.pth")  # a whole module, as Train.py saves it
    torch.save(ours.memory.items.clone(), tmp_path / "keys.pt")
    return ours, tmp_path / "model.pth", tmp_path / "keys.pt"


def test_official_key_layout_of_fixture(official_files):
    _, model_path, _ = official_files
    sd = read_official_state_dict(model_path, trust_pickle=True)
    assert "encoder.moduleConv1.0.weight" in sd and "encoder.moduleBatchNorm.running_mean" in sd
    assert "decoder.moduleDeconv1.6.weight" in sd and not any(k.startswith("memory") for k in sd)


def test_whole_module_pickle_loads_with_opt_in(official_files):
    ours, model_path, keys_path = official_files
    model = load_official(model_path, keys_path, "pred", trust_pickle=True)
    x = torch.randn(1, 12, 32, 32)
    torch.testing.assert_close(model(x).frame, ours(x).frame)
    torch.testing.assert_close(model.memory.items, ours.memory.items)


def test_pickle_needs_opt_in(official_files):
    _, model_path, keys_path = official_files
    with pytest.raises(CheckpointError, match="trust"):
        load_official(model_path, keys_path, "pred")


def test_state_dict_file_loads_without_opt_in(tmp_path, official_files):
    ours, model_path, keys_path = official_files
    sd = read_official_state_dict(model_path, trust_pickle=True)
    torch.save({f"module.{k}": v for k, v in sd.items()}, tmp_path / "sd.pth")  # DataParallel prefix
    model = load_official(tmp_path / "sd.pth", keys_path, "pred")
    x = torch.randn(1, 12, 16, 16)
    torch.testing.assert_close(model(x).frame, ours(x).frame)


def test_recon_variant_and_wrong_variant(tmp_path):
    ours = _randomise(MNADReconstructor(width=4, num_items=3, compat="official"))
    torch.save(convAE(ours), tmp_path / "model.pth")
    torch.save(ours.memory.items.clone(), tmp_path / "keys.pt")
    model = load_official(tmp_path / "model.pth", tmp_path / "keys.pt", "recon", trust_pickle=True)
    x = torch.rand(1, 3, 16, 16) * 2 - 1
    torch.testing.assert_close(model(x).frame, ours(x).frame)
    with pytest.raises(CheckpointError, match="recon"):
        load_official(tmp_path / "model.pth", tmp_path / "keys.pt", "pred", trust_pickle=True)


def test_bad_files(tmp_path, official_files):
    _, model_path, keys_path = official_files
    data = model_path.read_bytes()
    (tmp_path / "trunc.pth").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated"):
        load_official(tmp_path / "trunc.pth", keys_path, "pred", trust_pickle=True)
    with pytest.raises(CheckpointError, match="not found"):
        load_official(tmp_path / "missing.pth", keys_path, "pred")
    torch.save(torch.rand(5, 7), tmp_path / "badkeys.pt")
    with pytest.raises(CheckpointError, match="shape"):
        load_official(model_path, tmp_path / "badkeys.pt", "pred", trust_pickle=True)
    torch.save({"foo": torch.zeros(2)}, tmp_path / "other.pth")
    with pytest.raises(CheckpointError, match="not an official"):
        load_official(tmp_path / "other.pth", keys_path, "pred")


def test_cli_eval_with_official_files(official_files, tmp_path, capsys):
    import json

    from mnad.cli import main
    from mnad.synthetic import make_dataset

    _, model_path, keys_path = official_files
    make_dataset(tmp_path / "d", n_train=0, n_test=1, length=20, size=32, seed=1)
    argv = ["eval", "--weights", str(model_path), "--official-items", str(keys_path), "--method", "pred",
            "--size", "32", "--data-root", str(tmp_path / "d"), "-q"]
    assert main(argv) == 1
    assert "trust" in capsys.readouterr().err
    assert main([*argv, "--trust-pickle"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["frames"] == 16 and res["memory"] is True and 0 <= res["auc"] <= 1
