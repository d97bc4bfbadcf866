import json
import random

import numpy as np
import pytest
import torch

from cvcore.progress import AverageMeter, MetricsLogger, format_summary, progress, set_quiet
from cvcore.seed import make_generator, seed_everything


def test_seed_everything_repeats_all_generators():
    seed_everything(5)
    a = (random.random(), np.random.rand(), torch.rand(2).tolist())
    seed_everything(5)
    assert (random.random(), np.random.rand(), torch.rand(2).tolist()) == a
    with pytest.raises(ValueError, match="seed"):
        seed_everything(-1)
    assert torch.equal(torch.rand(3, generator=make_generator(1)), torch.rand(3, generator=make_generator(1)))


def test_deterministic_mode_toggles_torch():
    try:
        seed_everything(0, deterministic=True)
        assert torch.are_deterministic_algorithms_enabled()
    finally:
        torch.use_deterministic_algorithms(False)


def test_progress_passes_items_through_quiet_or_not(capsys):
    assert list(progress(range(5), quiet=True)) == list(range(5))
    set_quiet(False)
    try:
        assert list(progress(range(3), desc="x")) == [0, 1, 2]
    finally:
        set_quiet(None)
    assert capsys.readouterr().out == ""  # bars never go to stdout


def test_metrics_logger_jsonl(tmp_path):
    log = MetricsLogger(tmp_path / "m.jsonl")
    log.log(step=1, loss=torch.tensor(0.5))
    log.log(step=2, loss=0.25)
    lines = (tmp_path / "m.jsonl").read_text().splitlines()
    assert [json.loads(x)["loss"] for x in lines] == [0.5, 0.25]
    assert log.read()[1]["step"] == 2
    off = MetricsLogger(tmp_path / "off.jsonl", enabled=False)
    off.log(step=1)
    assert not (tmp_path / "off.jsonl").exists()


def test_meter_and_summary():
    m = AverageMeter()
    m.update(1.0, 3)
    m.update(3.0, 1)
    assert m.avg == pytest.approx(1.5)
    assert format_summary({"loss": 0.25, "acc": 91.5, "epoch": 3}, prefix="done") == "done | loss 0.25 | acc 91.5 | epoch 3"
