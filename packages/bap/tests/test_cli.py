import json

import numpy as np
import pytest
import torch

from bap import __version__
from bap.cli import main
from bap.data import SyntheticBoxDataset, write_voc_layout


def test_version(capsys):
    assert main(["--version"]) == 0
    assert __version__ in capsys.readouterr().out


def test_no_command_is_a_usage_error(capsys):
    assert main([]) == 2
    assert "error" in capsys.readouterr().err


@pytest.mark.parametrize("cmd", ["train-classifier", "pseudo-label", "train-seg", "eval", "eval-labels", "eval-coco",
                                 "predict",
                                 "demo", "export", "make-bg-masks"])
def test_help_of_every_command(cmd, capsys):
    assert main([cmd, "--help"]) == 0
    assert "usage" in capsys.readouterr().out


@pytest.fixture(scope="module")
def voc(tmp_path_factory):
    root = tmp_path_factory.mktemp("voc") / "VOCdevkit" / "VOC2012"
    ds = SyntheticBoxDataset(6, (40, 40), num_classes=3, seed=5)
    write_voc_layout(root, ds, {"train_aug": range(4), "val": range(4, 6)})
    return root


def _last_json(out: str) -> dict:
    return json.loads(out.strip().splitlines()[-1])


def test_full_pipeline_in_process(voc, tmp_path, capsys):
    common = ["--data-root", str(voc), "-q", "--seed", "3"]
    s1 = tmp_path / "s1"
    assert main(["train-classifier", *common, "--backbone", "tiny", "--iters", "2", "--batch-size", "2",
                 "--output-dir", str(s1), "--set", "crop=40", "--set", "width=8", "--set", "num_classes=4",
                 "--set", "scale_range=[0.9, 1.1]"]) == 0
    assert (s1 / "last.pt").is_file() and (s1 / "config.toml").is_file()
    capsys.readouterr()
    gen = voc / "Generation"
    assert main(["pseudo-label", *common, "--weights", str(s1 / "last.pt"), "--crf-iters", "2", "--eval"]) == 0
    res = _last_json(capsys.readouterr().out)
    assert res["written"] == 4 and 0 <= res["y_crf"]["miou"] <= 1
    assert sorted(p.name for p in (gen / "Ycrf").iterdir()) == [f"synth_{i:05d}.png" for i in range(4)]
    assert (gen / "Yret").is_dir() and any((gen / "overlays").iterdir())
    from PIL import Image

    with Image.open(gen / "Ycrf" / "synth_00000.png") as im:
        assert im.mode == "P" and set(np.unique(np.asarray(im))) <= {0, 1, 2, 3}
    # resume: nothing regenerated
    assert main(["pseudo-label", *common, "--weights", str(s1 / "last.pt"), "--crf-iters", "2"]) == 0
    assert _last_json(capsys.readouterr().out)["skipped"] == 4
    s3 = tmp_path / "s3"
    assert main(["train-seg", *common, "--backbone", "tiny", "--iters", "2", "--batch-size", "2", "--output-dir",
                 str(s3), "--set", "crop=40", "--set", "width=8", "--set", "num_classes=4", "--amp"]) == 0
    assert "amp = true" in (s3 / "config.toml").read_text()
    gt_list = tmp_path / "gt_ids.txt"
    gt_list.write_text("synth_00001\n")
    assert main(["train-seg", *common, "--backbone", "tiny", "--iters", "1", "--batch-size", "2", "--output-dir",
                 str(tmp_path / "s3b"), "--set", "crop=40", "--set", "width=8", "--set", "num_classes=4",
                 "--loss", "bootstrap", "--beta", "0.9", "--gt-mask-list", str(gt_list)]) == 0
    assert main(["train-seg", *common, "--iters", "1", "--loss", "bootstrap", "--beta", "2"]) == 1
    assert main(["train-seg", *common, "--iters", "1", "--gt-mask-list", str(tmp_path / "none.txt")]) == 1
    capsys.readouterr()
    ev = tmp_path / "ev"
    assert main(["eval", *common, "--weights", str(s3 / "last.pt"), "--no-msf", "--output-dir", str(ev),
                 "--save-pred", str(tmp_path / "pred")]) == 0
    metrics = _last_json(capsys.readouterr().out)
    assert metrics["n_images"] == 2 and json.loads((ev / "metrics.json").read_text())["miou"] == metrics["miou"]
    assert main(["eval-labels", *common, "--pred-dir", str(tmp_path / "pred")]) == 0
    assert _last_json(capsys.readouterr().out)["miou"] == pytest.approx(metrics["miou"])
    img = voc / "JPEGImages" / "synth_00004.png"
    assert main(["predict", str(img), "--weights", str(s3 / "last.pt"), "--no-crf", "--output-dir",
                 str(tmp_path / "p")]) == 0
    assert (tmp_path / "p" / "synth_00004.png").is_file() and (tmp_path / "p" / "synth_00004_overlay.png").is_file()
    # wrong checkpoint kind: clear error, exit 1
    capsys.readouterr()
    assert main(["eval", *common, "--weights", str(s1 / "last.pt")]) == 1
    assert "classifier" in capsys.readouterr().err


def test_bad_inputs_give_one_line_errors(voc, tmp_path, capsys):
    assert main(["eval", "--data-root", str(voc), "--weights", str(tmp_path / "missing.pt")]) == 1
    err = capsys.readouterr().err
    assert "not found" in err and "Traceback" not in err
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    assert main(["predict", "x.png", "--weights", str(bad)]) == 1
    assert "truncated" in capsys.readouterr().err
    assert main(["train-classifier", "--data-root", str(tmp_path / "nowhere"), "--iters", "1"]) == 1
    assert "VOC root not found" in capsys.readouterr().err
    assert main(["train-classifier", "--data-root", str(voc), "--set", "pooling=max"]) == 1
    assert "pooling" in capsys.readouterr().err
    assert main(["pseudo-label", "--crf", "1", "2"]) == 2
    corrupt = tmp_path / "corrupt.png"
    corrupt.write_bytes(b"\x89PNG broken")
    assert main(["predict", str(corrupt), "--weights", str(bad)]) == 1


def test_resume_is_bit_for_bit(voc, tmp_path):
    common = ["--data-root", str(voc), "-q", "--backbone", "tiny", "--batch-size", "2", "--set", "crop=40",
              "--set", "width=8", "--set", "num_classes=4", "--set", "jitter=false"]
    a, b = tmp_path / "a", tmp_path / "b"
    assert main(["train-classifier", *common, "--iters", "4", "--output-dir", str(a)]) == 0
    assert main(["train-classifier", *common, "--iters", "2", "--output-dir", str(b)]) == 0
    assert main(["train-classifier", *common, "--iters", "4", "--output-dir", str(b), "--resume",
                 str(b / "last.pt")]) == 0
    sa = torch.load(a / "last.pt", weights_only=True)["model"]
    sb = torch.load(b / "last.pt", weights_only=True)["model"]
    assert all(torch.equal(sa[k], sb[k]) for k in sa)


@pytest.mark.slow  # torch.export imports torch._dynamo (20-30 s without cached bytecode)
def test_export_writes_program(voc, tmp_path, capsys):
    s3 = tmp_path / "s3"
    gen = voc / "Generation"
    if not (gen / "Ycrf").is_dir():
        from bap.engine.generate import write_label_png

        for i in range(4):
            for d in ("Ycrf", "Yret"):
                write_label_png(gen / d / f"synth_{i:05d}.png", np.zeros((40, 40), np.uint8))
    assert main(["train-seg", "--data-root", str(voc), "-q", "--backbone", "tiny", "--iters", "1", "--batch-size",
                 "2", "--output-dir", str(s3), "--set", "crop=40", "--set", "width=8", "--set", "num_classes=4"]) == 0
    assert main(["export", "--weights", str(s3 / "last.pt"), "--size", "40", "--output-dir", str(tmp_path)]) == 0
    prog = torch.export.load(str(tmp_path / "bap_segmenter.pt2"))
    out = prog.module()(torch.zeros(1, 3, 40, 40))
    assert out.shape == (1, 4, 40, 40)


def test_demo_quick(tmp_path, capsys):
    assert main(["demo", "--quick", "-q", "--box-margin", "2", "--output-dir", str(tmp_path)]) == 0
    res = _last_json(capsys.readouterr().out)
    pl = res["pseudo_label_miou"]
    assert set(pl) == {"box", "gap_nocrf", "gap_crf", "bap_nocrf", "bap_crf", "bap_ret"}
    assert res["bap_beats_gap"] == {"without_crf": pl["bap_nocrf"] > pl["gap_nocrf"],
                                    "with_crf": pl["bap_crf"] > pl["gap_crf"]}
    assert (tmp_path / "demo.png").is_file() and (tmp_path / "demo_metrics.json").is_file()
