"""In-process CLI tests: train/eval/export/demo, resume bit for bit, bad input -> exit 1/2."""

import json

import pytest
import torch

from daq import __version__
from daq.cli import main

TINY = ["--dataset", "synthetic", "--arch", "resnet20", "--set", "model.width=4", "--set", "data.image_size=8",
        "--set", "data.synthetic_train=48", "--set", "data.synthetic_test=24", "--batch-size", "16",
        "--set", "data.eval_batch_size=12", "--w-bits", "2", "--a-bits", "2", "-q", "--device", "cpu", "--epochs", "1"]


def test_version(capsys):
    assert main(["--version"]) == 0
    assert __version__ in capsys.readouterr().out


def test_no_command_is_a_usage_error(capsys):
    assert main([]) == 2
    assert "error" in capsys.readouterr().err


@pytest.mark.parametrize("cmd", ["train", "eval", "export", "demo"])
def test_help(cmd, capsys):
    assert main([cmd, "--help"]) == 0
    assert "usage" in capsys.readouterr().out


def _train(tmp_path, name, epochs, *extra):
    out = tmp_path / name
    code = main(["train", *TINY, "--epochs", str(epochs), "--set", "optim.t_max=2", "--output-dir", str(out), *extra])
    return code, out


def test_train_eval_export(tmp_path, capsys):
    code, out = _train(tmp_path, "run", 1)
    assert code == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert 0.0 <= summary["last_top1"] <= 100.0
    assert (out / "last.pt").is_file() and (out / "config.toml").is_file() and (out / "best.pt").is_file()
    metrics = json.loads((out / "metrics.json").read_text())
    ep = metrics["epochs"][0]
    assert {"train_loss", "top1", "top5", "lr", "q_lr", "layers"} <= set(ep)
    assert len(ep["layers"]) == 18 and "scale" in ep["layers"]["layer1.0.conv1"]
    assert metrics["best_top1"] == ep["top1"] == metrics["last_top1"]
    # eval reproduces the last test accuracy
    assert main(["eval", "--weights", str(out / "last.pt"), "--output-dir", str(tmp_path / "ev"), "-q"]) == 0
    ev = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert ev["top1"] == pytest.approx(ep["top1"]) and ev["n"] == 24
    assert json.loads((tmp_path / "ev" / "metrics.json").read_text())["top1"] == ev["top1"]
    # export: program matches eager, codes are integers on the grid
    assert main(["export", "--weights", str(out / "last.pt"), "--output-dir", str(tmp_path / "ex"), "-q"]) == 0
    prog = torch.export.load(str(tmp_path / "ex" / "model.pt2"))
    codes = json.loads((tmp_path / "ex" / "codes.json").read_text())
    layer = codes["layers"]["layer2.0.conv1"]
    assert set(layer["codes"]) <= {0, 1, 2, 3} and layer["steps"] == 3
    from cvcore.config import from_dict
    from daq.config import TrainConfig
    from daq.engine.train import build_model, load_weights

    ck = torch.load(out / "last.pt", weights_only=True)
    model = build_model(from_dict(TrainConfig, ck["config"]).model)
    load_weights(model, out / "last.pt")
    model.eval()
    x = torch.randn(1, 3, 8, 8)
    assert torch.allclose(prog.module()(x), model(x), atol=1e-5)
    w = model.layer2[0].conv1.quantized_weight()
    assert torch.allclose(torch.tensor(layer["codes"], dtype=torch.float32).view_as(w) * 2 / 3 - 1, w)


def test_resume_is_bit_for_bit(tmp_path, capsys):
    assert _train(tmp_path, "full", 2)[0] == 0
    assert _train(tmp_path, "half", 1)[0] == 0
    assert main(["train", *TINY, "--epochs", "2", "--resume", str(tmp_path / "half" / "last.pt"),
                 "--output-dir", str(tmp_path / "half")]) == 0
    a = torch.load(tmp_path / "full" / "last.pt", weights_only=True)["model"]
    b = torch.load(tmp_path / "half" / "last.pt", weights_only=True)["model"]
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    ma = json.loads((tmp_path / "full" / "metrics.json").read_text())
    mb = json.loads((tmp_path / "half" / "metrics.json").read_text())
    assert [e["top1"] for e in ma["epochs"]] == [e["top1"] for e in mb["epochs"]]


def test_missing_data_root_names_the_layout(tmp_path, capsys):
    assert main(["train", "--dataset", "cifar10", "--data-root", str(tmp_path / "nope"), "-q"]) == 1
    err = capsys.readouterr().err
    assert "cifar-10-batches-py" in err and "Traceback" not in err
    assert main(["train", "--dataset", "cifar10", "-q"]) == 1
    assert "--data-root" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [
    ["train", "--w-bits", "0"], ["train", "--w-bits", "two"], ["train", "--a-bits", "9"],
    ["train", "--epochs", "-1"], ["train", "--dataset", "mnist"], ["train", "--lr", "0"],
    ["train", "--sigma-a", "-2"], ["eval", "--compat", "weird"], ["demo", "--steps", "x"],
])
def test_bad_flag_values_are_usage_errors(argv, capsys):
    assert main(argv) == 2
    assert "error" in capsys.readouterr().err


def test_bad_files_and_config_values_exit_1(tmp_path, capsys):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    for argv in (["eval", "--weights", str(bad)], ["export", "--weights", str(tmp_path / "missing.pt")],
                 ["eval"], ["train", *TINY, "--set", "model.nope=1"], ["train", *TINY, "--resume", str(bad)],
                 ["train", *TINY, "--config", str(tmp_path / "none.toml")]):
        assert main(argv) == 1, argv
        err = capsys.readouterr().err
        assert "error" in err and "Traceback" not in err
    out = tmp_path / "o"
    no_arch = [a for a in TINY if a not in ("--arch", "resnet20")]
    assert main(["train", *no_arch, "--set", "model.arch=vgg", "--output-dir", str(out)]) == 1
    assert not out.exists() or not (out / "last.pt").exists()


def test_nan_input_data_is_reported(tmp_path, capsys, monkeypatch):
    import daq.data.synthetic as syn

    real = syn.synthetic

    def poisoned(*a, **k):
        ds = real(*a, **k)
        ds.transform = lambda x: x * float("nan")
        return ds

    monkeypatch.setattr(syn, "synthetic", poisoned)
    assert main(["train", *TINY, "--epochs", "1", "--output-dir", str(tmp_path / "n")]) == 1
    assert "diverged" in capsys.readouterr().err


def test_demo_tiny(tmp_path, capsys):
    code = main(["demo", "--steps", "3", "--set", "n_train=64", "--set", "n_test=32", "--set", "width=4",
                 "--output-dir", str(tmp_path), "-q"])
    assert code == 0
    res = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(res["top1"]) == {"full precision", "DAQ", "STE"}
    from PIL import Image

    assert Image.open(tmp_path / "demo.png").size == (720, 300)


def test_bundled_recipes_load():
    from cvcore.config import load_config
    from daq.config import TrainConfig, recipe_path, recipes

    names = recipes()
    assert "cifar10_resnet20_w1a1.toml" in names and len(names) >= 12
    for n in names:
        cfg = load_config(TrainConfig, recipe_path(n))
        assert cfg.optim.epochs > 0
    w1a32 = load_config(TrainConfig, recipe_path("cifar10_resnet20_w1a32"))
    assert (w1a32.model.w_bits, w1a32.model.a_bits, w1a32.optim.lr, w1a32.data.batch_size) == (1, 32, 0.1, 256)


@pytest.mark.slow
def test_python_dash_m_help_subprocess():
    import subprocess
    import sys

    res = subprocess.run([sys.executable, "-m", "daq", "--help"], capture_output=True, text=True, timeout=600)
    assert res.returncode == 0 and "train" in res.stdout and "demo" in res.stdout


def test_pretrained_official_fp_checkpoint_then_quantized_training(tmp_path, capsys):
    import daq.models as M
    from daq.checkpoint import to_official_state_dict

    fp = M.resnet20(None, None, width=4)
    path = tmp_path / "cifar10_fp.pth"
    torch.save({"state_dict": to_official_state_dict(fp), "epoch": 199}, path)
    out = tmp_path / "q"
    assert main(["train", *TINY, "--pretrained", str(path), "--output-dir", str(out), "--set", "optim.lr=1e-9",
                 "--set", "optim.weight_decay=0.0", "--q-lr", "1e-9"]) == 0
    state = torch.load(out / "last.pt", weights_only=True)["model"]
    # started from the FP weights (lr ~ 0: still equal) and ran the E13 init on the first batch
    assert torch.allclose(state["layer1.0.conv1.weight"], fp.layer1[0].conv1.weight, atol=1e-6)
    assert bool(state["layer1.0.conv1.initialized"]) and float(state["layer1.0.conv1.w_upper"]) == pytest.approx(3.0)


def test_eval_official_checkpoint_on_a_cifar10_replica(tmp_path, capsys):
    import daq
    import daq.models as M
    from cvcore.data.replica import Replica
    from daq.checkpoint import to_official_state_dict

    Replica(tmp_path / "data").cifar10(n_train_per_batch=2, n_test=6)
    q = M.resnet20(1, 1, width=4)
    daq.initialize(q, torch.randn(4, 3, 32, 32))
    path = tmp_path / "cifar10_W1A1.pth"
    torch.save({"state_dict": to_official_state_dict(q), "epoch": 399}, path)
    assert main(["eval", "--weights", str(path), "--dataset", "cifar10", "--data-root", str(tmp_path / "data"),
                 "-q"]) == 0
    ev = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert ev["n"] == 6
    from daq.data.cifar10 import cifar10

    ds = cifar10(tmp_path / "data", train=False)
    x = torch.stack([ds[i][0] for i in range(len(ds))])
    with torch.no_grad():
        expected = 100.0 * (q.eval()(x).argmax(1) == ds.targets).float().mean().item()
    assert ev["top1"] == pytest.approx(expected)
