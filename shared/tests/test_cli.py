import json
from dataclasses import dataclass

import pytest

from cvcore import cli
from cvcore.errors import DataError


@dataclass
class Cfg:
    epochs: int = 2
    lr: float = 0.1


def _parser():
    parser = cli.make_parser("tool", version="1.2.3", description="a test tool")

    def ok(args):
        cfg = cli.resolve_config(Cfg, args, explicit={"epochs": args.epochs})
        cli.emit({"epochs": cfg.epochs, "lr": cfg.lr, "seed": args.seed}, args)
        return 0

    def fail(args):
        raise DataError("data folder /x/y not found; expected /x/y/train")

    def crash(args):
        raise RuntimeError("a bug")

    cmd = cli.add_command(parser, "ok", ok, help="works", aliases=["predict"])
    cmd.add_argument("--epochs", type=int, default=None)
    cli.add_command(parser, "fail", fail, help="user error")
    cli.add_command(parser, "crash", crash, help="bug")
    return parser


def test_results_on_stdout_and_metrics_file(tmp_path, capsys):
    cfg = tmp_path / "c.toml"
    cfg.write_text("epochs = 5\nlr = 0.5\n")
    code = cli.run(_parser(), ["ok", "--config", str(cfg), "--set", "lr=0.25", "--seed", "3",
                               "--output-dir", str(tmp_path / "out")])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out == {"epochs": 5, "lr": 0.25, "seed": 3}
    assert json.loads((tmp_path / "out" / "metrics.json").read_text()) == out


def test_explicit_flag_beats_set(capsys):
    assert cli.run(_parser(), ["predict", "--set", "epochs=7", "--epochs", "9"]) == 0
    assert json.loads(capsys.readouterr().out)["epochs"] == 9


def test_usage_errors_exit_2_with_one_line(capsys):
    for argv in ([], ["nope"], ["ok", "--device", "tpu"], ["ok", "--seed", "-1"], ["ok", "--bogus"]):
        assert cli.run(_parser(), argv) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and err.startswith("tool") and ": error: " in err, err


def test_user_errors_exit_1_without_traceback_unless_verbose(capsys):
    assert cli.run(_parser(), ["fail"]) == 1
    err = capsys.readouterr().err
    assert err.strip() == "tool: error: data folder /x/y not found; expected /x/y/train"
    assert cli.run(_parser(), ["fail", "-v"]) == 1
    assert "Traceback" in capsys.readouterr().err


def test_bad_config_values_are_user_errors(capsys):
    assert cli.run(_parser(), ["ok", "--set", "epochs=abc"]) == 1
    assert "config key 'epochs'" in capsys.readouterr().err
    assert cli.run(_parser(), ["ok", "--set", "nokey=1"]) == 1
    assert "unknown config key 'nokey'" in capsys.readouterr().err


def test_bugs_still_raise():
    with pytest.raises(RuntimeError, match="a bug"):
        cli.run(_parser(), ["crash"])


def test_version_and_help(capsys):
    assert cli.run(_parser(), ["--version"]) == 0
    assert capsys.readouterr().out.strip() == "tool 1.2.3"
    assert cli.run(_parser(), ["ok", "--help"]) == 0
    help_text = capsys.readouterr().out
    for flag in ("--config", "--set", "--data-root", "--output-dir", "--weights", "--device", "--seed",
                 "--num-workers", "--verbose", "--quiet"):
        assert flag in help_text


def test_selfcheck(capsys):
    from cvcore.__main__ import main

    assert main(["selfcheck"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["checkpoint_round_trip"] is True and out["auc"] == 0.75 and 30 < out["psnr_db"] < 40


@pytest.mark.parametrize(
    "fn, good, bad",
    [
        (cli.positive_int, [("1", 1), ("12", 12)], ["0", "-3", "1.5", "x"]),
        (cli.nonnegative_int, [("0", 0), ("7", 7)], ["-1", "2.0", ""]),
        (cli.positive_float, [("1e-3", 1e-3), ("2", 2.0)], ["0", "-1", "nan", "inf", "x"]),
        (cli.nonnegative_float, [("0", 0.0), ("0.5", 0.5)], ["-0.1", "nan", "inf"]),
    ],
)
def test_argparse_number_types(fn, good, bad):
    import argparse

    for text, value in good:
        assert fn(text) == value and type(fn(text)) is type(value)
    for text in bad:
        with pytest.raises(argparse.ArgumentTypeError, match="expected"):
            fn(text)
