import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pytest

from cvcore.config import (
    apply_overrides,
    config_to_dict,
    dump_toml,
    load_config,
    parse_override,
    save_config,
)
from cvcore.errors import ConfigError


@dataclass
class Optim:
    lr: float = 0.1
    betas: tuple[float, float] = (0.9, 0.999)
    name: Literal["sgd", "adam"] = "sgd"


@dataclass
class Recipe:
    epochs: int = 10
    bits: int | None = None
    amp: bool = False
    out: Path = Path("runs")
    layers: list[int] = field(default_factory=lambda: [1, 2])
    optim: Optim = field(default_factory=Optim)


def test_defaults_file_and_overrides_in_order(tmp_path):
    f = tmp_path / "r.toml"
    f.write_text('epochs = 3\nbits = 2\n[optim]\nlr = 0.5\nname = "adam"\n')
    cfg = load_config(Recipe, f, ["optim.lr=1e-3", "amp=true", "layers=[4, 5, 6]"])
    assert cfg.epochs == 3 and cfg.bits == 2 and cfg.amp is True
    assert cfg.optim.lr == pytest.approx(1e-3) and cfg.optim.name == "adam"
    assert cfg.optim.betas == (0.9, 0.999)  # untouched default survives a partial table
    assert cfg.layers == [4, 5, 6]


def test_int_is_accepted_for_float_and_tuple_from_list():
    cfg = apply_overrides(Recipe(), ["optim.lr=1", "optim.betas=[0.5, 0.6]"])
    assert isinstance(cfg.optim.lr, float) and cfg.optim.betas == (0.5, 0.6)


@pytest.mark.parametrize(
    "override, key",
    [
        ("epochz=3", "epochz"),
        ("optim.momentum=0.9", "optim.momentum"),
        ("epochs.x=1", "epochs.x"),
    ],
)
def test_unknown_keys_are_named(override, key):
    with pytest.raises(ConfigError, match=f"'{key}"):
        apply_overrides(Recipe(), [override])


@pytest.mark.parametrize(
    "override, key",
    [
        ("epochs=1.5", "epochs"),
        ("epochs=true", "epochs"),
        ("amp=1", "amp"),
        ("optim.name=rmsprop", "optim.name"),
        ("optim.betas=[1, 2, 3]", "optim.betas"),
        ("layers=[1, 'a']", "layers[1]"),
    ],
)
def test_wrong_types_are_named(override, key):
    with pytest.raises(ConfigError, match=re.escape(f"'{key}'")):
        apply_overrides(Recipe(), [override])


def test_unknown_key_in_file(tmp_path):
    f = tmp_path / "r.toml"
    f.write_text("[optim]\nmomentum = 0.9\n")
    with pytest.raises(ConfigError, match="optim.momentum"):
        load_config(Recipe, f)


def test_bad_files(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(Recipe, tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("epochs = = 3")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(Recipe, bad)


def test_parse_override_values():
    assert parse_override("a.b=3") == (["a", "b"], 3)
    assert parse_override("a=hello") == (["a"], "hello")  # bare words are strings
    assert parse_override('a="x=y"') == (["a"], "x=y")
    for bad in ("novalue", "=3", "a..b=1"):
        with pytest.raises(ConfigError, match="malformed"):
            parse_override(bad)


def test_none_for_optional_and_bare_string_path():
    cfg = apply_overrides(Recipe(bits=4), ["out=/tmp/x"])
    assert cfg.out == Path("/tmp/x") and cfg.bits == 4


def test_toml_round_trip(tmp_path):
    cfg = apply_overrides(Recipe(), ["bits=3", "optim.lr=0.25", 'optim.name="adam"'])
    path = save_config(cfg, tmp_path / "sub" / "resolved.toml")
    again = load_config(Recipe, path)
    assert again == cfg
    text = dump_toml(config_to_dict(cfg))
    assert "[optim]" in text and "bits = 3" in text
