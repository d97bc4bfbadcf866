"""The ``pisr`` command, in-process: every sub-command on tiny folders in the official layout."""

import json

import numpy as np
import pytest
import torch

from cvcore.data.replica import Replica
from pisr import __version__
from pisr.cli import main
from pisr.data import imresize

TINY = ["--d", "8", "--s", "4", "--m", "1", "--epochs", "1", "--iters-per-epoch", "2", "--patch-size", "16",
        "--batch-size", "2", "--seed", "0", "-q"]


def smooth_image(h, w, seed):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    base = 128 + 60 * np.sin(x / (3 + seed)) * np.cos(y / 4) + rng.normal(0, 5, (h, w))
    return np.clip(np.stack([base, base * 0.9, base * 0.8], axis=-1), 0, 255).astype(np.uint8)


@pytest.fixture
def data_root(tmp_path):
    r = Replica(tmp_path / "data")
    for i in (1, 2):
        hr = smooth_image(32, 36, i)
        r.image(f"DIV2K/DIV2K_train_HR/{i:04d}.png", hr)
        r.image(f"DIV2K/DIV2K_train_LR_bicubic/X2/{i:04d}x2.png", imresize(hr, 0.5))
    for name in ("baby", "bird"):
        hr = smooth_image(24, 28, 3 if name == "baby" else 4)
        r.image(f"benchmark/Set5/HR/{name}.png", hr)
        r.image(f"benchmark/Set5/LR_bicubic/X2/{name}x2.png", imresize(hr, 0.5))
    return r.root


def test_version(capsys):
    assert main(["--version"]) == 0
    assert __version__ in capsys.readouterr().out


def test_no_command_is_a_usage_error(capsys):
    assert main([]) == 2
    assert "error" in capsys.readouterr().err


@pytest.mark.parametrize("cmd", ["train-teacher", "train-student", "train-baseline", "train", "eval", "upscale",
                                 "predict", "export", "demo"])
def test_help_of_every_command(cmd, capsys):
    assert main([cmd, "--help"]) == 0
    out = capsys.readouterr().out
    assert "--device" in out
    if cmd == "eval":
        assert "quantised" in out and "border crop" in out


def test_train_teacher_student_baseline_eval_upscale_export(data_root, tmp_path, capsys):
    out = tmp_path / "runs"
    assert main(["train-teacher", "--data-root", str(data_root), "--scale", "2", "--output-dir", str(out / "t"), *TINY]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["kind"] == "teacher" and (out / "t" / "last.pt").is_file() and (out / "t" / "config.toml").is_file()
    assert main(["train-student", "--data-root", str(data_root), "--teacher", str(out / "t" / "last.pt"),
                 "--output-dir", str(out / "s"), *TINY]) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["kind"] == "student" and (out / "s" / "model.pt").is_file()
    assert main(["train", "--stage", "baseline", "--hr-dir", str(data_root / "DIV2K" / "DIV2K_train_HR"),
                 "--output-dir", str(out / "b"), *TINY]) == 0
    capsys.readouterr()
    # eval on the benchmark layout
    assert main(["eval", "--data-root", str(data_root), "--sets", "Set5", "--weights", str(out / "s" / "model.pt"),
                 "--output-dir", str(tmp_path / "ev"), "-q"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert set(res["sets"]["Set5"]) == {"psnr", "ssim", "n", "per_image"} and res["sets"]["Set5"]["n"] == 2
    assert json.loads((tmp_path / "ev" / "metrics.json").read_text())["sets"]["Set5"]["psnr"] == res["sets"]["Set5"]["psnr"]
    assert main(["eval", "--data-root", str(data_root), "--sets", "Set5", "--bicubic", "-q"]) == 0
    bic = json.loads(capsys.readouterr().out)["sets"]["Set5"]["psnr"]
    assert bic > res["sets"]["Set5"]["psnr"]  # 2 iterations of a tiny net do not beat bicubic
    # upscale a user image
    photo = tmp_path / "photo.png"
    Replica(tmp_path).image("photo.png", smooth_image(10, 13, 5))
    assert main(["upscale", str(photo), "--weights", str(out / "s" / "model.pt"), "-o", str(tmp_path / "big.png"), "-q"]) == 0
    from cvcore.data import read_image

    assert read_image(tmp_path / "big.png").shape == (20, 26, 3)
    # export: torch.export program and TorchScript give the network's output
    assert main(["export", "--weights", str(out / "b" / "model.pt"), "--output", str(tmp_path / "m.pt2"), "-q"]) == 0
    assert main(["export", "--weights", str(out / "b" / "model.pt"), "--format", "torchscript",
                 "--output", str(tmp_path / "m.ts"), "-q"]) == 0
    from pisr.weights import load_fsrcnn

    net = load_fsrcnn(out / "b" / "model.pt")
    x = torch.rand(1, 1, 11, 9)
    prog = torch.export.load(tmp_path / "m.pt2")
    assert torch.allclose(prog.module()(x), net(x), atol=1e-6)
    assert torch.allclose(torch.jit.load(tmp_path / "m.ts")(x), net(x), atol=1e-6)


def test_resume_flag(data_root, tmp_path, capsys):
    args = ["train-baseline", "--data-root", str(data_root), "--output-dir", str(tmp_path / "b"), *TINY]
    assert main(args) == 0
    assert main([*args[:-len(TINY)], *TINY[:-3], "--epochs", "2", "--resume", str(tmp_path / "b" / "last.pt"), "-q"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["epochs"] == 2


def test_demo_on_a_folder(tmp_path, capsys):
    r = Replica(tmp_path / "photos")
    r.image("train/a.png", smooth_image(56, 60, 1))
    r.image("eval/b.png", smooth_image(40, 44, 2))
    assert main(["demo", "--data-root", str(tmp_path / "photos"), "--iters", "2", "--teacher-iters", "1",
                 "--output-dir", str(tmp_path / "demo"), "--save-weights", str(tmp_path / "w.pt"), "--no-shipped", "-q"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert set(res["psnr_y"]) == {"bicubic", "fsrcnn_baseline", "pisr_student"}
    assert (tmp_path / "demo" / "demo_x2.png").is_file() and (tmp_path / "w.pt").is_file()
    assert json.loads((tmp_path / "demo" / "demo.json").read_text())["psnr_y"] == res["psnr_y"]
    # the plain-FSRCNN recipe (no teacher), saved as deployable weights
    assert main(["demo", "--data-root", str(tmp_path / "photos"), "--iters", "2", "--teacher-iters", "0",
                 "--save-model", "baseline", "--output-dir", str(tmp_path / "demo2"), "--save-weights",
                 str(tmp_path / "b.pt"), "--no-shipped", "-q"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert set(res["psnr_y"]) == {"bicubic", "fsrcnn_baseline"}
    from pisr.weights import load_model

    assert load_model(tmp_path / "b.pt").scale == 2
    assert main(["demo", "--data-root", str(tmp_path / "photos"), "--iters", "2", "--teacher-iters", "0",
                 "--no-baseline", "--save-weights", str(tmp_path / "c.pt"), "--output-dir", str(tmp_path / "demo3"),
                 "-q"]) == 1


def test_missing_data_names_the_layout(tmp_path, capsys):
    assert main(["train-teacher", "--data-root", str(tmp_path), *TINY]) == 1
    err = capsys.readouterr().err
    assert "DIV2K_train_HR" in err and "Traceback" not in err
    assert main(["eval", "--data-root", str(tmp_path), "--sets", "Set5", "--bicubic"]) == 1
    assert "LR_bicubic" in capsys.readouterr().err
    assert main(["train-teacher", *TINY]) == 1
    assert "--hr-dir" in capsys.readouterr().err


def test_bad_inputs_are_clean_errors(data_root, tmp_path, capsys):
    bad = tmp_path / "notes.png"
    bad.write_text("hello")
    assert main(["upscale", str(bad), "-o", str(tmp_path / "o.png")]) == 1
    err = capsys.readouterr().err
    assert "not an image" in err and "Traceback" not in err
    assert not (tmp_path / "o.png").exists()
    assert main(["upscale", str(tmp_path / "missing.png")]) == 1
    capsys.readouterr()
    assert main(["upscale", str(data_root / "benchmark/Set5/HR/baby.png"), "--weights", str(tmp_path / "nope.pt")]) == 1
    assert "not found" in capsys.readouterr().err
    # incompatible checkpoint: a teacher cannot upscale
    assert main(["train-teacher", "--data-root", str(data_root), "--output-dir", str(tmp_path / "t"), *TINY]) == 0
    capsys.readouterr()
    good = Replica(tmp_path).image("good.png", smooth_image(8, 8, 1))
    assert main(["upscale", str(good), "--weights", str(tmp_path / "t" / "last.pt")]) == 1
    assert "teacher" in capsys.readouterr().err
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"\x00" * 100)
    assert main(["eval", "--hr-dir", str(data_root / "benchmark/Set5/HR"), "--weights", str(corrupt)]) == 1
    assert "truncated" in capsys.readouterr().err
    # usage errors: exit 2
    assert main(["upscale", str(bad), "--scale", "x"]) == 2
    assert main(["train-teacher", "--lr", "nan"]) == 2
    assert main(["train-teacher", "--patch-size", "0"]) == 2
    assert main(["eval", "--sets", "Set99", "--data-root", str(data_root)]) == 1
    # student without teacher; patch size not a multiple of the scale
    assert main(["train-student", "--data-root", str(data_root), *TINY]) == 1
    assert "--teacher" in capsys.readouterr().err
    assert main(["train-teacher", "--data-root", str(data_root), "--scale", "3", *TINY]) == 1
    assert "multiple" in capsys.readouterr().err
    # unknown --set key
    assert main(["train-teacher", "--data-root", str(data_root), "--set", "bogus=1", *TINY]) == 1
    assert "bogus" in capsys.readouterr().err


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_upscale_with_default_weights_works_or_says_what_is_missing(tmp_path, capsys, scale):
    from PIL import Image

    from pisr.weights import default_weights_path

    img = Replica(tmp_path).image("p.png", smooth_image(12, 12, 3))
    try:
        default_weights_path(scale)
        shipped = True
    except Exception:  # noqa: BLE001
        shipped = False
    code = main(["upscale", str(img), "--scale", str(scale), "-o", str(tmp_path / "big.png"), "-q"])
    if shipped:
        assert code == 0
        assert np.asarray(Image.open(tmp_path / "big.png")).shape == (12 * scale, 12 * scale, 3)
    else:
        assert code == 1 and "no shipped default weights" in capsys.readouterr().err


def test_shipped_weights_are_package_data_and_match_their_file_names():
    """Every weights/fsrcnn_x{s}.pt is matched by pyproject package-data and is a 12 644-parameter x{s} FSRCNN."""
    import fnmatch
    import tomllib
    from pathlib import Path

    import pisr
    from pisr.weights import load_fsrcnn

    root = Path(__file__).resolve().parents[1]
    globs = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["pisr"]
    files = sorted((Path(pisr.__file__).parent / "weights").glob("fsrcnn_x*.pt"))
    assert files, "no shipped weights at all"
    for f in files:
        assert any(fnmatch.fnmatch(f"weights/{f.name}", g) for g in globs), (f.name, globs)
        scale = int(f.stem.removeprefix("fsrcnn_x"))
        net = load_fsrcnn(f, scale=scale)
        assert net.scale == scale and sum(q.numel() for q in net.parameters()) == 12_644


def test_default_output_dir_and_config_file(data_root, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    cfg_file = tmp_path / "r.toml"
    cfg_file.write_text("lr = 0.002\nlambda_imit = 0.5\n")
    assert main(["train-teacher", "--data-root", str(data_root), "--config", str(cfg_file), "--set", "lr=0.003",
                 *TINY]) == 0
    from cvcore.config import load_config
    from pisr.config import TrainConfig

    saved = load_config(TrainConfig, tmp_path / "runs" / "teacher_x2" / "config.toml")
    assert saved.lr == 0.003 and saved.lambda_imit == 0.5 and saved.d == 8  # defaults < config < --set < flags


@pytest.mark.slow
def test_python_dash_m_help_in_a_subprocess():
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "pisr", "--help"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and "upscale" in out.stdout and "train-teacher" in out.stdout


@pytest.mark.parametrize("flags, message", [
    (["--teacher-iters", "0", "--save-weights", "W"], "--teacher-iters must be > 0"),
    (["--no-baseline", "--save-model", "baseline", "--save-weights", "W"], "--no-baseline"),
    (["--no-baseline", "--baseline-iters", "5"], "contradict"),
    (["--teacher-iters", "0", "--no-baseline", "--no-shipped"], "nothing to compare"),
    (["--save-weights", "DIR"], "is a folder"),
    (["--save-weights", "FILE/w.pt"], "not a folder"),
    (["--output-dir", "FILE"], "not a folder"),
    (["--output-dir", "FILE/sub"], "not a folder"),
    (["--data-root", "EMPTY"], "train"),
])
def test_demo_validates_flags_before_training_or_writing(tmp_path, monkeypatch, capsys, flags, message):
    """Bad demo flags: exit 1 with a one-line message, nothing trained, no output folder or weights created."""
    import pisr.demo

    def never(*a, **k):
        raise AssertionError("the demo trained before validating its flags")

    monkeypatch.setattr(pisr.demo, "run_photo_training", never)
    (tmp_path / "DIR").mkdir()
    (tmp_path / "EMPTY").mkdir()
    (tmp_path / "FILE").write_text("x")
    subst = {"W": tmp_path / "w.pt", "DIR": tmp_path / "DIR", "FILE": tmp_path / "FILE", "EMPTY": tmp_path / "EMPTY",
             "FILE/w.pt": tmp_path / "FILE" / "w.pt", "FILE/sub": tmp_path / "FILE" / "sub"}
    flags = [str(subst.get(f, f)) for f in flags]
    if "--output-dir" not in flags:
        flags += ["--output-dir", str(tmp_path / "out")]
    before = sorted(p.name for p in tmp_path.iterdir())
    assert main(["demo", "--iters", "2", *flags, "-q"]) == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no out/, no w.pt
    assert list((tmp_path / "DIR").iterdir()) == [] and (tmp_path / "FILE").read_text() == "x"


def test_demo_failure_mid_run_removes_only_the_folder_it_created(tmp_path, monkeypatch, capsys):
    """An error after the output folder was started removes that folder, never one that existed before."""
    import pisr.demo
    from cvcore.errors import DataError

    def half_written(recipe, *, data_root=None, log=None, out_dir=None):
        out_dir.mkdir(parents=True)
        (out_dir / "last.pt").write_bytes(b"partial")
        raise DataError("disk full (simulated)")

    monkeypatch.setattr(pisr.demo, "run_photo_training", half_written)
    assert main(["demo", "--iters", "2", "--save-checkpoints", "--output-dir", str(tmp_path / "new"), "-q"]) == 1
    assert "simulated" in capsys.readouterr().err
    assert not (tmp_path / "new").exists()
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "keep.txt").write_text("mine")
    assert main(["demo", "--iters", "2", "--save-checkpoints", "--output-dir", str(tmp_path / "old"), "-q"]) == 1
    assert (tmp_path / "old" / "keep.txt").read_text() == "mine"


def test_upscale_tiles_by_default_and_tile_0_is_the_whole_image(tmp_path, capsys):
    """The default --tile 256 splits a 300-pixel-wide image; --tile 0 runs it whole; outputs agree to 1 level."""
    from cvcore.data import read_image

    img = Replica(tmp_path).image("wide.png", smooth_image(14, 300, 2))
    assert main(["upscale", str(img), "-o", str(tmp_path / "tiled.png"), "-q"]) == 0
    assert main(["upscale", str(img), "--tile", "0", "-o", str(tmp_path / "whole.png"), "-q"]) == 0
    a, b = (read_image(tmp_path / n).astype(int) for n in ("tiled.png", "whole.png"))
    assert a.shape == (28, 600, 3) and np.abs(a - b).max() <= 1
    assert main(["upscale", str(img), "--tile", "-1"]) == 2
