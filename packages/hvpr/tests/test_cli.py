"""The ``hvpr`` command in-process: every sub-command's help, synth → make-infos → train → eval → detect on a
tiny synthetic KITTI layout, and bad input (wrong scan sizes, NaN, missing files, incompatible checkpoints)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from hvpr import __version__
from hvpr.cli import main

TINY = ["--config", "tiny_synthetic", "--set", "data.num_points_train=1024", "--set", "data.num_points_test=1024"]
COMMANDS = ("synth", "make-infos", "train", "eval", "detect", "predict", "demo", "export")


def _json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_version(capsys):
    assert main(["--version"]) == 0
    assert __version__ in capsys.readouterr().out


def test_no_command_is_a_usage_error(capsys):
    assert main([]) == 2
    assert "error" in capsys.readouterr().err


@pytest.mark.parametrize("cmd", COMMANDS)
def test_help_of_each_command(cmd, capsys):
    assert main([cmd, "--help"]) == 0
    assert "usage: hvpr" in capsys.readouterr().out


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """4 synthetic scenes (3 train, 1 val), infos, and a 2-step training run."""
    root = tmp_path_factory.mktemp("hvpr_cli")
    data, out = root / "data", root / "run"
    assert main(["synth", "--output-dir", str(data), "--num-train", "3", "--num-val", "1", "--seed", "2"]) == 0
    assert (data / "training" / "velodyne" / "000000.bin").is_file()
    assert (data / "ImageSets" / "val.txt").read_text().split() == ["000003"]
    assert main(["make-infos", "--data-root", str(data)]) == 0
    assert (data / "kitti_infos_train.json").is_file()
    assert main(["train", *TINY, "--data-root", str(data), "--output-dir", str(out), "--max-iters", "2", "-q",
                 "--log-every", "1"]) == 0
    return data, out


def test_train_outputs(run, capsys):
    data, out = run
    assert (out / "last.pt").is_file() and (out / "config.toml").is_file()
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["step"] == 2 and "Car/bev/moderate/R40@0.50" in metrics
    log = [json.loads(x) for x in (out / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log if r["kind"] == "train"] == [1, 2]
    ck = torch.load(out / "last.pt", weights_only=True)
    assert ck["step"] == 2 and ck["config"]["data"]["num_points_train"] == 1024
    # resuming a finished run trains no further step
    assert main(["train", "--data-root", str(data), "--output-dir", str(out), "--max-iters", "2", "-q",
                 "--resume", str(out / "last.pt"), "--val-split", ""]) == 0
    assert _json_lines(capsys.readouterr().out)[-1]["steps"] == 2


def test_eval_prints_json_and_writes_preds(run, tmp_path, capsys):
    data, out = run
    capsys.readouterr()
    assert main(["eval", "--weights", str(out / "last.pt"), "--data-root", str(data), "--output-dir",
                 str(tmp_path), "--save-preds", str(tmp_path / "preds"), "--metrics", "bev,3d", "-q"]) == 0
    res = _json_lines(capsys.readouterr().out)[-1]
    assert res["frames"] == 1 and 0.0 <= res["Car/3d/moderate/R40@0.70"] <= 100.0
    assert json.loads((tmp_path / "metrics.json").read_text()) == res
    assert (tmp_path / "preds" / "000003.txt").is_file()
    assert main(["eval", "--weights", str(out / "last.pt"), "--data-root", str(data), "--ablate-memory", "zero",
                 "--metrics", "bev", "-q"]) == 0
    assert _json_lines(capsys.readouterr().out)[-1]["ablate_memory"] == "zero"


def test_detect_bin_and_npy(run, tmp_path, capsys):
    data, out = run
    scan = data / "training" / "velodyne" / "000003.bin"
    npy = tmp_path / "scan.npy"
    np.save(npy, np.fromfile(scan, dtype="<f4").reshape(-1, 4))
    capsys.readouterr()
    assert main(["detect", str(scan), str(npy), "--weights", str(out / "last.pt"), "--output-dir",
                 str(tmp_path / "det"), "--score-thresh", "0", "--set", "post.nms_post=5", "--set", "post.nms_pre=40"]) == 0
    frames = _json_lines(capsys.readouterr().out)[-1]["frames"]
    assert [f["detections"] for f in frames] == [5, 5]  # score threshold 0: nms_post boxes each
    assert frames[0]["boxes_lidar"] == frames[1]["boxes_lidar"]  # same cloud, same seeded sampling
    lines = (tmp_path / "det" / "label_2" / "000003.txt").read_text().splitlines()
    assert len(lines) == 5 and all(len(x.split()) == 16 and x.split()[0] == "Car" for x in lines)
    from PIL import Image

    img = np.asarray(Image.open(tmp_path / "det" / "bev" / "scan.png"))
    assert img.ndim == 3 and (img == [255, 60, 40]).all(-1).any()  # predicted boxes drawn in red


def test_detect_bad_inputs(run, tmp_path, capsys):
    data, out = run
    w = ["--weights", str(out / "last.pt"), "--output-dir", str(tmp_path / "o")]
    bad = tmp_path / "bad.bin"
    bad.write_bytes(np.zeros(10, np.float32).tobytes())  # 10 floats: not a multiple of 4
    nan = tmp_path / "nan.npy"
    np.save(nan, np.full((5, 4), np.nan, np.float32))
    wrong = tmp_path / "wrong.npy"
    np.save(wrong, np.zeros((5, 2), np.float32))
    for args in ([str(bad)], [str(tmp_path / "missing.bin")], [str(nan)], [str(wrong)], [str(tmp_path / "x.txt")]):
        capsys.readouterr()
        assert main(["detect", *args, *w]) == 1, args
        err = capsys.readouterr().err.strip()
        assert err.startswith("hvpr: error:") and "\n" not in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()  # nothing half-written
    scan = str(data / "training" / "velodyne" / "000000.bin")
    not_ckpt = tmp_path / "not.pt"
    not_ckpt.write_bytes(b"garbage")
    other = tmp_path / "other.pt"
    torch.save({"format": "cvcore-checkpoint", "format_version": 1, "package": "mnad", "version": "0.1.0"}, other)
    for ck in (not_ckpt, other, tmp_path / "missing.pt"):
        assert main(["detect", scan, "--weights", str(ck), "--output-dir", str(tmp_path / "o")]) == 1
        assert "error" in capsys.readouterr().err
    assert main(["detect", scan, *w, "--score-thresh", "-1"]) == 2
    assert main(["detect", scan, *w, "--set", "model.memory.num_items=8"]) == 1  # shape change: incompatible
    assert "network shape" in capsys.readouterr().err


def test_train_missing_data_root(tmp_path, capsys):
    assert main(["train", *TINY, "--data-root", str(tmp_path / "nope"), "--output-dir", str(tmp_path / "o")]) == 1
    assert "error" in capsys.readouterr().err
