"""In-process CLI tests: train/eval/export on synthetic data, resume, bad input."""

import json

import pytest
import torch

from ewgs import __version__
from ewgs.cli import main

TINY = ["--dataset", "synthetic", "--arch", "small", "--width", "4", "--batch-size", "32",
        "--set", "data.synthetic_size=192", "--set", "data.test_batch_size=64", "-q"]


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


@pytest.fixture(scope="module")
def fp_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("fp")
    assert main(["train", *TINY, "--w-bits", "32", "--a-bits", "32", "--epochs", "3", "--optimizer", "sgd",
                 "--lr", "0.05", "--output-dir", str(out)]) == 0
    return out


def test_train_with_hessian_writes_delta(fp_run, tmp_path, capsys):
    out = tmp_path / "q"
    capsys.readouterr()
    assert main(["train", *TINY, "--w-bits", "2", "--a-bits", "2", "--epochs", "2", "--update-every", "1",
                 "--max-iter", "5", "--pretrained", str(fp_run / "last.pt"), "--output-dir", str(out)]) == 0
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    metrics = json.loads((out / "metrics.json").read_text())
    assert printed["last_top1"] == metrics["last_top1"]
    hist = metrics["history"]
    assert "hutchinson_samples" in hist[1] and "hutchinson_samples" not in hist[0]  # never at epoch 0
    assert all(v == [0.0, 0.0] for v in hist[0]["delta"].values())
    assert any(x > 0 for v in hist[1]["delta"].values() for x in v)
    assert (out / "config.toml").is_file() and (out / "best.pt").is_file()
    # eval of the trained checkpoint prints JSON and writes metrics.json
    ev_dir = tmp_path / "ev"
    assert main(["eval", "--weights", str(out / "last.pt"), "--output-dir", str(ev_dir), "-q"]) == 0
    ev = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert ev["top1"] == pytest.approx(metrics["last_top1"]) and ev["w_bits"] == 2
    assert json.loads((ev_dir / "metrics.json").read_text())["top1"] == ev["top1"]
    # export: torch.export program matches eager, integer codes on the grid
    ex_dir = tmp_path / "ex"
    assert main(["export", "--weights", str(out / "last.pt"), "--output-dir", str(ex_dir), "-q"]) == 0
    ex = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert ex["max_abs_diff"] < 1e-5 and ex["layers"] == 2
    program = torch.export.load(str(ex_dir / "model.pt2"))
    assert program.module()(torch.randn(3, 1, 28, 28)).shape == (3, 10)
    codes = torch.load(ex_dir / "codes.pt")
    assert codes["conv2"]["codes"].dtype == torch.uint8 and int(codes["conv2"]["codes"].max()) <= 3


def test_resume_is_bit_for_bit(fp_run, tmp_path):
    common = [*TINY, "--w-bits", "2", "--a-bits", "2", "--epochs", "3", "--update-every", "2", "--max-iter", "3",
              "--pretrained", str(fp_run / "last.pt")]
    full, part = tmp_path / "full", tmp_path / "part"
    assert main(["train", *common, "--output-dir", str(full)]) == 0
    from cvcore.checkpoint import load_checkpoint
    from cvcore.config import from_dict
    from ewgs.config import TrainConfig
    from ewgs.engine.train import train

    cfg = from_dict(TrainConfig, load_checkpoint(full / "last.pt")["config"])
    train(cfg, data_root=None, output_dir=part, max_epochs=1)
    assert main(["train", *common, "--output-dir", str(part), "--resume", str(part / "last.pt")]) == 0
    a = load_checkpoint(full / "last.pt")["model"]
    b = load_checkpoint(part / "last.pt")["model"]
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert json.loads((full / "metrics.json").read_text())["history"] == json.loads(
        (part / "metrics.json").read_text())["history"]


@pytest.mark.parametrize("argv, code, text", [
    (["train", "--w-bits", "16"], 2, "bits, not levels"),
    (["train", "--w-bits", "0"], 2, "bits"),
    (["train", "--lr", "nan"], 2, "number"),
    (["train", "--dataset", "imagenet3"], 2, "invalid choice"),
    (["train", "--epochs", "-1"], 2, "whole number >= 1"),
    (["train", "--dataset", "cifar10", "--data-root", "/nonexistent/cifar", "--epochs", "1"], 1, "cifar-10-batches-py"),
    (["train", "--dataset", "fashion-mnist", "--data-root", "/nonexistent", "--epochs", "1"], 1, "idx"),
    (["eval", "--weights", "/nonexistent.pt"], 1, "not found"),
    (["eval"], 1, "--weights"),
    (["train", "--set", "model.nope=1"], 1, "unknown config key"),
])
def test_bad_input(argv, code, text, capsys):
    assert main(argv) == code
    err = capsys.readouterr().err
    assert text in err and "Traceback" not in err


def test_incompatible_checkpoints(tmp_path, fp_run, capsys):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    assert main(["eval", "--weights", str(bad)]) == 1
    assert "truncated" in capsys.readouterr().err
    from cvcore.checkpoint import save_checkpoint

    other = tmp_path / "daq.pt"
    save_checkpoint(other, package="daq", version="0.1.0", model=torch.nn.Linear(2, 2))
    assert main(["eval", "--weights", str(other)]) == 1
    assert "daq" in capsys.readouterr().err
    # resume with another recipe is refused, nothing written
    out = tmp_path / "r"
    assert main(["train", *TINY, "--w-bits", "32", "--a-bits", "32", "--epochs", "5", "--resume",
                 str(fp_run / "last.pt"), "--output-dir", str(out)]) == 1
    assert "another configuration" in capsys.readouterr().err and not out.exists()


def test_demo_on_synthetic(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--synthetic", "--epochs", "1", "--train-size", "160", "--output-dir", str(out), "-q"]) == 0
    res = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert res["dataset"] == "synthetic"
    assert [r["setting"] for r in res["results"]] == ["FP32", "W2A2 STE", "W2A2 EWGS", "W1A1 STE", "W1A1 EWGS"]
    assert all(0 <= r["top1"] <= 100 for r in res["results"])
    from PIL import Image

    with Image.open(out / "demo.png") as im:
        assert im.size[0] > 800
