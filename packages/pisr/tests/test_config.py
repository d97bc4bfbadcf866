from importlib import resources
from pathlib import Path

import pytest

from cvcore.config import load_config
from cvcore.errors import ConfigError
from pisr.config import TrainConfig

CONFIGS = sorted(Path(str(resources.files("pisr") / "configs")).glob("*.toml"))


def test_nine_recipes_ship():
    assert len(CONFIGS) == 9


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_recipes_load_and_match_the_official_numbers(path):
    cfg = load_config(TrainConfig, path)
    scale = int(path.stem.split("_x")[1][0])
    assert cfg.scale == scale and cfg.patch_size == 192 and cfg.batch_size == 16
    assert cfg.epochs * cfg.iters_per_epoch == 1_000_000 and cfg.lr == 1e-3 and cfg.lr_min == 1e-5
    assert (cfg.d, cfg.s, cfg.m) == (56, 12, 4)
    assert cfg.lambda_imit == 1e-4 and cfg.lambda_distill == 1e-6 and cfg.pdf == "laplace"


def test_overrides_and_bad_values(tmp_path):
    cfg = load_config(TrainConfig, CONFIGS[0], ["lr=0.002", "distill_layers=['expanding']"])
    assert cfg.lr == 0.002
    with pytest.raises(ConfigError):
        load_config(TrainConfig, None, ["bogus=1"])
    with pytest.raises(ConfigError):
        load_config(TrainConfig, None, ["patch_size=191"])  # not a multiple of the scale
    with pytest.raises(ConfigError):
        load_config(TrainConfig, None, ["pdf='cauchy'"])
