"""The ``mnad`` command, in-process: train -> eval -> score on an on-disk synthetic set, demo,
resume, and bad input (one-line errors, exit codes 1/2, no traceback)."""

import csv
import json

import numpy as np
import pytest
import torch

from mnad import __version__
from mnad.cli import main
from mnad.synthetic import make_dataset

TINY = ["--width", "4", "--size", "32", "--epochs", "1", "--num-items", "4", "--seed", "0", "-q"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("syn")
    make_dataset(root / "data", n_train=2, n_test=2, length=20, size=32, seed=1)
    out = root / "run"
    assert main(["train", "--data-root", str(root / "data"), "--output-dir", str(out), *TINY]) == 0
    return root / "data", out


def test_version(capsys):
    assert main(["--version"]) == 0
    assert __version__ in capsys.readouterr().out


def test_no_command_is_a_usage_error(capsys):
    assert main([]) == 2
    assert "error" in capsys.readouterr().err


@pytest.mark.parametrize("cmd", ["train", "eval", "score", "predict", "demo", "export"])
def test_help(cmd, capsys):
    assert main([cmd, "--help"]) == 0
    assert "usage" in capsys.readouterr().out


def test_train_writes_checkpoint_and_config(trained):
    _, out = trained
    assert (out / "checkpoint.pt").is_file() and (out / "config.toml").is_file()
    assert "width = 4" in (out / "config.toml").read_text()
    assert json.loads((out / "train_summary.json").read_text())["steps"] == 2 * 16 // 4
    assert len((out / "metrics.jsonl").read_text().splitlines()) == 1


def test_eval_prints_auc_json(trained, capsys, tmp_path):
    data, out = trained
    capsys.readouterr()
    argv = ["eval", "--checkpoint", str(out / "checkpoint.pt"), "--data-root", str(data), "--labels",
            str(data / "frame_labels.npy"), "--output-dir", str(tmp_path), "--save-scores", str(tmp_path / "s.csv"),
            "--plot", "-q"]
    assert main(argv) == 0
    res = json.loads(capsys.readouterr().out)
    assert 0.0 <= res["auc"] <= 1.0 and res["frames"] == 2 * (20 - 4)
    assert json.loads((tmp_path / "metrics.json").read_text())["auc"] == res["auc"]
    rows = list(csv.DictReader((tmp_path / "s.csv").open()))
    assert len(rows) == 32 and rows[0]["frame"] == "4"
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == ["01.png", "02.png"]
    # default label lookup: <data-root>/frame_labels.npy
    assert main(argv[:5] + ["-q"]) == 0


def test_eval_missing_labels_names_expected_file(trained, capsys, tmp_path):
    data, out = trained
    (tmp_path / "testing").symlink_to(data / "testing")
    assert main(["eval", "--checkpoint", str(out / "checkpoint.pt"), "--data-root", str(tmp_path), "-q"]) == 1
    err = capsys.readouterr().err
    assert "frame_labels.npy" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_score_writes_csv_and_plots(trained, capsys, tmp_path):
    data, out = trained
    assert main(["score", "--checkpoint", str(out / "checkpoint.pt"), "--video-dir", str(data / "testing/frames/02"),
                 "--output-dir", str(tmp_path), "-q"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["auc"] is None and res["videos"] == 1
    rows = list(csv.DictReader((tmp_path / "scores.csv").open()))
    assert len(rows) == 16 and {r["label"] for r in rows} == {"-1"}
    scores = np.array([float(r["score"]) for r in rows])
    assert scores.min() >= 0 and scores.max() <= 1
    assert (tmp_path / "plots" / "02.png").is_file()
    # alias, JSON output, labels shaded in the plot
    assert main(["predict", "--weights", str(out / "checkpoint.pt"), "--input", str(data / "testing/frames"),
                 "--labels", str(data / "frame_labels.npy"), "--output", str(tmp_path / "s.json"),
                 "--output-dir", str(tmp_path / "p"), "-q", "--no-test-update"]) == 0
    assert len(json.loads((tmp_path / "s.json").read_text())) == 32


def test_resume_is_bit_for_bit(tmp_path):
    make_dataset(tmp_path / "d", n_train=2, n_test=1, length=10, size=16, seed=2)
    common = ["--data-root", str(tmp_path / "d"), "--width", "2", "--size", "16", "--num-items", "3", "--seed", "3",
              "--batch-size", "2", "-q"]
    assert main(["train", "--output-dir", str(tmp_path / "a"), "--epochs", "2", *common]) == 0
    # an interrupted run: stops after the first epoch (12 samples / batch 2 = 6 steps)
    assert main(["train", "--output-dir", str(tmp_path / "b"), "--epochs", "2", "--max-iters", "6", *common]) == 0
    from mnad.engine.evaluate import load_model

    assert torch.load(tmp_path / "b" / "checkpoint.pt", weights_only=True)["epoch"] == 1
    # continue it to 2 epochs: same weights and items as the uninterrupted run a
    assert main(["train", "--output-dir", str(tmp_path / "b"), "--epochs", "2", "--resume", *common]) == 0
    a = torch.load(tmp_path / "a" / "checkpoint.pt", weights_only=True)["model"]
    c = torch.load(tmp_path / "b" / "checkpoint.pt", weights_only=True)["model"]
    assert a.keys() == c.keys() and all(torch.equal(a[k], c[k]) for k in a)
    model, cfg = load_model(tmp_path / "a" / "checkpoint.pt")
    assert cfg.epochs == 2 and model.memory.items.shape == (3, 16)


def test_train_recon_defaults_switch(tmp_path):
    make_dataset(tmp_path / "d", n_train=1, n_test=1, length=8, size=16, seed=2)
    assert main(["train", "--data-root", str(tmp_path / "d"), "--output-dir", str(tmp_path / "r"), "--method", "recon",
                 "--width", "2", "--size", "16", "--epochs", "1", "--max-iters", "1", "-q"]) == 0
    text = (tmp_path / "r" / "config.toml").read_text()
    assert "t_length = 1" in text and "lambda_compact = 0.01" in text


@pytest.mark.parametrize(
    ("argv", "code", "needle"),
    [
        (["train", "--lr", "-1"], 2, "expected a finite number > 0"),
        (["eval", "--lambda", "1.5"], 2, "[0, 1]"),
        (["train", "--method", "gan"], 2, "invalid choice"),
        (["train", "--size", "30", "--data-root", "."], 1, "divisible by 8"),
        (["train", "--data-root", "/nonexistent/mnad"], 1, "training/frames"),
        (["train", "--set", "bogus=1", "--data-root", "."], 1, "unknown config key"),
        (["eval", "--checkpoint", "/nonexistent/ck.pt", "--data-root", "."], 1, "not found"),
        (["score", "--checkpoint", "/nonexistent/ck.pt"], 1, "--video-dir"),
    ],
)
def test_bad_input_one_line_errors(argv, code, needle, capsys):
    assert main(argv) == code
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err


def test_incompatible_or_corrupt_checkpoint(tmp_path, trained, capsys):
    data, out = trained
    (tmp_path / "bad.pt").write_bytes(b"garbage")
    assert main(["score", "--checkpoint", str(tmp_path / "bad.pt"), "--video-dir", str(data / "testing/frames")]) == 1
    assert "truncated" in capsys.readouterr().err
    torch.save({"format": "cvcore-checkpoint", "package": "ewgs", "version": "0.1.0"}, tmp_path / "other.pt")
    assert main(["score", "--checkpoint", str(tmp_path / "other.pt"), "--video-dir", str(data / "testing/frames")]) == 1
    assert "ewgs" in capsys.readouterr().err
    assert main(["eval", "--checkpoint", str(out / "checkpoint.pt"), "--data-root", str(data), "--labels",
                 str(tmp_path / "bad.pt")]) == 1
    assert "label" in capsys.readouterr().err
    assert not (tmp_path / "scores.csv").exists()


def test_demo_smoke(tmp_path, capsys):
    assert main(["demo", "--iters", "20", "--width", "4", "--size", "32", "--output-dir", str(tmp_path), "-q"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert 0 <= res["auc_memory"] <= 1 and 0 <= res["auc_no_memory"] <= 1
    assert (tmp_path / "demo_scores.png").stat().st_size > 1000


@pytest.mark.slow
def test_export_program_matches_eager(trained, tmp_path):
    from mnad.engine.evaluate import load_model
    from mnad.export import ScoringStep

    _, out = trained
    assert main(["export", "--checkpoint", str(out / "checkpoint.pt"), "--output-dir", str(tmp_path), "-q"]) == 0
    program = torch.export.load(tmp_path / "mnad_scoring.pt2")
    model, _ = load_model(out / "checkpoint.pt")
    x = torch.rand(1, 12, 32, 32) * 2 - 1
    items = torch.load(tmp_path / "items.pt", weights_only=True)
    for a, b in zip(program.module()(x, items), ScoringStep(model)(x, items)):
        torch.testing.assert_close(a, b)


@pytest.mark.slow
def test_python_m_mnad_help():
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "mnad", "--help"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and "score" in proc.stdout


def test_public_api_is_lazy_and_complete():
    import mnad

    for name in mnad.__all__:
        assert getattr(mnad, name) is not None
    with pytest.raises(AttributeError):
        mnad.nonexistent  # noqa: B018
