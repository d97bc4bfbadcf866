"""The reid-relation CLI in-process: train → eval (--rerank, --visrank) → extract → search → export, and bad input."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from reid_relation import __version__
from reid_relation.cli import main

TINY = ["--height", "192", "--width", "64", "--batch-size", "8", "--num-instances", "4", "--backbone", "resnet18",
        "--backbone-width", "8", "--feat-dim", "16", "--epochs", "2", "--max-steps", "2", "--seed", "0",
        "--device", "cpu", "-q"]


def test_version(capsys):
    assert main(["--version"]) == 0
    assert __version__ in capsys.readouterr().out


def test_no_command_is_a_usage_error(capsys):
    assert main([]) == 2
    assert "error" in capsys.readouterr().err


@pytest.mark.parametrize("cmd", ["train", "eval", "extract", "search", "demo", "export"])
def test_help(cmd, capsys):
    assert main([cmd, "--help"]) == 0
    assert "usage" in capsys.readouterr().out


@pytest.fixture(scope="module")
def trained(synthetic_root, tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    assert main(["train", "--dataset", "market1501", "--data-root", str(synthetic_root), "--output-dir", str(out),
                 *TINY]) == 0
    return out


def test_train_writes_checkpoint_config_and_metrics(trained):
    assert (trained / "last.pt").is_file() and (trained / "config.toml").is_file()
    lines = (trained / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(x)["epoch"] for x in lines] == [1, 2]
    ck = torch.load(trained / "last.pt", weights_only=True)
    assert ck["epoch"] == 2 and ck["config"]["data"]["sampler"] == "anchor"


def test_resume_is_bit_for_bit(synthetic_root, trained, tmp_path):
    one = tmp_path / "one"
    assert main(["train", "--dataset", "market1501", "--data-root", str(synthetic_root), "--output-dir", str(one),
                 *TINY, "--epochs", "1"]) == 0
    assert main(["train", "--dataset", "market1501", "--data-root", str(synthetic_root), "--output-dir", str(one),
                 *TINY, "--resume", str(one / "last.pt")]) == 0
    a = torch.load(one / "last.pt", weights_only=True)["model"]
    b = torch.load(trained / "last.pt", weights_only=True)["model"]
    for k in b:
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=0)


def test_eval_with_rerank_and_visrank(synthetic_root, trained, tmp_path, capsys):
    js = tmp_path / "m.json"
    assert main(["eval", "--checkpoint", str(trained / "last.pt"), "--dataset", "market1501", "--data-root",
                 str(synthetic_root), "--rerank", "--visrank", "3", "--visrank-dir", str(tmp_path / "vis"),
                 "--json", str(js), "--output-dir", str(tmp_path / "o"), "-q"]) == 0
    res = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    for key in ("rank1", "rank5", "rank10", "mAP", "mINP"):
        assert 0.0 <= res[key] <= 1.0 and 0.0 <= res["rerank"][key] <= 1.0
    assert json.loads(js.read_text())["mAP"] == res["mAP"]
    assert len(list((tmp_path / "vis").glob("*.png"))) == len(res["visrank"]) > 0
    assert (tmp_path / "o" / "metrics.json").is_file()


def test_eval_cuhk03_classic_protocol(synthetic_root, trained, capsys):
    assert main(["eval", "--checkpoint", str(trained / "last.pt"), "--data-root", str(synthetic_root),
                 "--protocol", "cuhk03_classic", "--separate-cameras", "--no-flip", "-q"]) == 0
    res = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert res["protocol"] == "cuhk03_classic"


def test_extract_search_export(synthetic_root, trained, tmp_path, capsys):
    ck = str(trained / "last.pt")
    gal = synthetic_root / "Market-1501-v15.09.15" / "bounding_box_test"
    assert main(["extract", "--checkpoint", ck, "--images", str(gal), "--out", str(tmp_path / "g.npz"), "-q"]) == 0
    z = np.load(tmp_path / "g.npz")
    assert z["features"].shape[1] == 15 * 16
    np.testing.assert_allclose(np.linalg.norm(z["features"], axis=1), 1, atol=1e-5)
    assert main(["extract", "--checkpoint", ck, "--data-root", str(synthetic_root), "--split", "query",
                 "--descriptor", "global", "--out", str(tmp_path / "q.npz"), "-q"]) == 0
    assert np.load(tmp_path / "q.npz")["features"].shape[1] == 3 * 16
    query = next((synthetic_root / "Market-1501-v15.09.15" / "query").iterdir())
    capsys.readouterr()
    assert main(["search", "--checkpoint", ck, "--query", str(query), "--gallery", str(gal), "--topk", "4",
                 "--output-dir", str(tmp_path / "s"), "-q"]) == 0
    res = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert len(res["ranking"]) == 4 and (tmp_path / "s" / "search.json").is_file()
    d = [r["distance"] for r in res["ranking"]]
    assert d == sorted(d) and Image.open(res["png"]).size[0] > 4 * 64


@pytest.mark.slow
def test_export_program_matches_model(trained, tmp_path):
    ck = str(trained / "last.pt")
    assert main(["export", "--checkpoint", ck, "--out", str(tmp_path / "m.pt2"), "--no-flip", "-q"]) == 0
    prog = torch.export.load(str(tmp_path / "m.pt2"))
    from reid_relation.commands import load_model

    model, _ = load_model(trained / "last.pt")
    x = torch.randn(3, 3, 192, 64)
    torch.testing.assert_close(prog.module()(x), model.embed(x, flip=False), rtol=1e-4, atol=1e-5)


def test_bad_inputs(tmp_path, trained, synthetic_root, capsys):
    ck = str(trained / "last.pt")
    for sub in ("bounding_box_train", "query", "bounding_box_test"):
        (tmp_path / "bad" / sub).mkdir(parents=True)
        (tmp_path / "bad" / sub / "img.jpg").write_bytes(b"x")
    assert main(["train", "--dataset", "market1501", "--data-root", str(tmp_path / "bad"), *TINY]) == 1
    assert "no parsable" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    q = next((synthetic_root / "Market-1501-v15.09.15" / "query").iterdir())
    assert main(["search", "--checkpoint", ck, "--query", str(q), "--gallery", str(tmp_path / "empty"), "-q"]) == 1
    assert "no images" in capsys.readouterr().err
    (tmp_path / "notimg.jpg").write_bytes(b"hello")
    assert main(["search", "--checkpoint", ck, "--query", str(tmp_path / "notimg.jpg"), "--gallery",
                 str(tmp_path / "empty"), "-q"]) == 1
    assert "not an image" in capsys.readouterr().err
    assert main(["eval", "--checkpoint", str(tmp_path / "missing.pt"), "--data-root", str(synthetic_root)]) == 1
    assert "not found" in capsys.readouterr().err
    (tmp_path / "trunc.pt").write_bytes((trained / "last.pt").read_bytes()[:1000])
    assert main(["eval", "--checkpoint", str(tmp_path / "trunc.pt"), "--data-root", str(synthetic_root)]) == 1
    assert "truncated" in capsys.readouterr().err
    assert main(["train", "--sampler", "random"]) == 2
    assert main(["train", "--dataset", "market1501", "--data-root", str(synthetic_root), *TINY,
                 "--holdout-val", "99"]) == 1
    assert "holdout" in capsys.readouterr().err
    assert main(["eval", "--checkpoint", ck, "--data-root", str(synthetic_root), "--height", "128"]) == 1
    assert "divisible by 12" in capsys.readouterr().err
