"""Training loops: pipeline smoke, frozen teacher, resume bit-for-bit."""

import math

import numpy as np
import pytest
import torch

from pisr.config import TrainConfig
from pisr.data import PatchDataset, make_pair
from pisr.engine import distill, train_baseline, train_teacher
from pisr.models import PISRTeacher
from pisr.weights import load_fsrcnn, load_model, save_fsrcnn


@pytest.fixture
def patches():
    rng = np.random.default_rng(0)
    pairs = [make_pair(rng.integers(0, 256, (24, 26, 3), dtype=np.uint8), 2) for _ in range(2)]
    return PatchDataset(pairs, scale=2, patch_size=16, repeat=8)


def cfg(tmp_path=None, **kw):
    base = dict(scale=2, patch_size=16, batch_size=4, epochs=1, iters_per_epoch=5, d=8, s=4, m=1, device="cpu",
                seed=0, lr=1e-3)
    base.update(kw)
    return TrainConfig(**base, out_dir=str(tmp_path) if tmp_path else None)


def test_pipeline_smoke_teacher_student_export(tmp_path, patches):
    teacher = train_teacher(cfg(tmp_path / "t"), patches)
    assert math.isfinite(teacher.train_summary["last_loss"])
    assert (tmp_path / "t" / "last.pt").is_file() and (tmp_path / "t" / "config.toml").is_file()
    t_state = {k: v.clone() for k, v in teacher.state_dict().items()}
    student = distill(teacher, cfg(tmp_path / "s"), patches)
    for k, v in teacher.state_dict().items():
        assert torch.equal(v, t_state[k]), "teacher changed during distillation"
    assert all(p.grad is None for p in teacher.parameters())
    assert math.isfinite(student.train_summary["last_loss"])
    save_fsrcnn(tmp_path / "model.pt", student)
    plain = load_fsrcnn(tmp_path / "model.pt", scale=2)
    x = torch.rand(1, 1, 9, 10)
    assert torch.equal(plain(x), student.backbone.eval()(x))
    assert (tmp_path / "model.pt").stat().st_size < 30_000


def test_student_starts_from_teacher_decoder(patches):
    teacher = PISRTeacher(2, d=8, s=4, m=1)
    student = distill(teacher, cfg(lr=1e-12, lr_min=0.0), patches)  # lr ~0: weights stay at the init
    for k, v in teacher.decoder.state_dict().items():
        assert torch.allclose(student.backbone.state_dict()[k], v, atol=1e-6), k
    other = distill(teacher, cfg(lr=1e-12, lr_min=0.0, init_from_teacher=False), patches)
    assert not torch.allclose(other.backbone.feature_extraction[0].weight, teacher.decoder.feature_extraction[0].weight)


def test_validation_psnr_is_logged_and_returned(patches):
    from pisr.data import ImageFolderPairs

    rng = np.random.default_rng(1)
    val = ImageFolderPairs(scale=2, pairs=[("v", *make_pair(rng.integers(0, 256, (40, 40, 3), dtype=np.uint8), 2))])
    net = train_baseline(cfg(epochs=2, iters_per_epoch=2), patches, val)
    hist = net.train_summary["history"]
    assert len(hist) == 2 and all("val_psnr" in h for h in hist)
    assert net.train_summary["best_psnr"] == max(h["val_psnr"] for h in hist)
    assert net.train_summary["last_psnr"] == hist[-1]["val_psnr"]


@pytest.mark.parametrize("schedule", ["epoch", "iteration"])
def test_resume_is_bit_for_bit(tmp_path, patches, schedule, monkeypatch):
    import pisr.engine.train as tr

    c = dict(epochs=3, iters_per_epoch=3, schedule=schedule)
    full = train_baseline(cfg(tmp_path / "full", **c), patches)
    # interrupt a second run right after its first checkpoint
    real_save = tr.ck.save_checkpoint

    def save_then_stop(*a, **k):
        real_save(*a, **k)
        raise KeyboardInterrupt

    monkeypatch.setattr(tr.ck, "save_checkpoint", save_then_stop)
    with pytest.raises(KeyboardInterrupt):
        train_baseline(cfg(tmp_path / "part", **c), patches)
    monkeypatch.setattr(tr.ck, "save_checkpoint", real_save)
    np.random.seed(123)
    torch.manual_seed(123)  # the resumed run must not depend on the RNG state it starts in
    resumed = train_baseline(cfg(tmp_path / "res", resume=str(tmp_path / "part" / "last.pt"), **c), patches)
    for k, v in full.state_dict().items():
        assert torch.equal(resumed.state_dict()[k], v), k
    assert [h["loss"] for h in resumed.train_summary["history"]] == [h["loss"] for h in full.train_summary["history"]]


def test_resume_of_wrong_kind_is_refused(tmp_path, patches):
    from cvcore.errors import CheckpointError

    train_baseline(cfg(tmp_path / "b"), patches)
    with pytest.raises(CheckpointError, match="baseline checkpoint"):
        train_teacher(cfg(tmp_path / "t", resume=str(tmp_path / "b" / "last.pt")), patches)


def test_load_model_round_trips_every_kind(tmp_path, patches):
    teacher = train_teacher(cfg(tmp_path / "t", iters_per_epoch=1), patches)
    t2 = load_model(tmp_path / "t" / "last.pt")
    assert isinstance(t2, PISRTeacher)
    for k, v in teacher.state_dict().items():
        assert torch.equal(t2.state_dict()[k], v)


@pytest.mark.parametrize("compat,first_lr_index", [("clean", 0), ("official", 1)])
def test_official_loop_order_trains_epoch_0_at_lr_1(patches, compat, first_lr_index, monkeypatch):
    seen = []
    real_step = torch.optim.Adam.step

    def spy(self, *a, **k):
        seen.append(self.param_groups[0]["lr"])
        return real_step(self, *a, **k)

    monkeypatch.setattr(torch.optim.Adam, "step", spy)
    train_baseline(cfg(epochs=4, iters_per_epoch=1, compat=compat, lr=1e-3, lr_min=1e-5), patches)
    expected = [1e-5 + (1e-3 - 1e-5) * (1 + math.cos(math.pi * t / 4)) / 2 for t in range(first_lr_index, first_lr_index + 4)]
    assert seen == pytest.approx(expected, rel=1e-9)
