"""Training and evaluation loops on tiny in-memory videos: the test-time memory update, its gate,
label alignment, the no-memory ablation and the checkpoint round trip."""

import numpy as np
import pytest
import torch

from cvcore.errors import DataError
from mnad.config import TrainConfig, method_defaults
from mnad.engine import evaluate, load_model, train
from mnad.functional import memory_update
from mnad.synthetic import make_dataset

CFG = TrainConfig(width=2, size=16, num_items=4, epochs=1, max_iters=3, seed=0, num_workers=0, device="cpu")


@pytest.fixture(scope="module")
def tiny():
    data = make_dataset(n_train=2, n_test=2, length=12, size=16, seed=5)
    result = train(CFG, data.train_set(5))
    return data, result


def test_train_history_and_items(tiny):
    data, result = tiny
    assert result.history[-1]["step"] == 3 and np.isfinite(result.history[-1]["loss"])
    torch.testing.assert_close(result.items.norm(dim=1), torch.ones(4))
    fresh = train(CFG, data.train_set(5))
    assert torch.equal(fresh.items, result.items)  # seeded: deterministic


def test_test_time_update_gate(tiny):
    data, result = tiny
    model = result.model
    never = evaluate(model, data.test_set(5), data.labels, gamma=0.0)
    always = evaluate(model, data.test_set(5), data.labels, gamma=10.0)
    fixed = evaluate(model, data.test_set(5), data.labels, gamma=10.0, test_update=False)
    assert not never.per_frame.updated.any() and always.per_frame.updated.all()
    assert torch.equal(never.items, model.memory.items) and torch.equal(fixed.items, model.memory.items)
    # the test memory is carried across videos: replay the updates by hand
    ds = data.test_set(5)
    items = model.memory.items.clone()
    dists = []
    with torch.no_grad():
        for i in range(len(ds)):
            x = ds[i].unsqueeze(0)
            out = model(x[:, :12], items=items)
            dists.append(float(out.compactness))
            items = memory_update(out.query, items)
    torch.testing.assert_close(always.items, items)
    np.testing.assert_allclose(always.per_frame.dist, dists, rtol=1e-6)
    assert not np.allclose(always.per_frame.dist, fixed.per_frame.dist)
    assert torch.equal(model.memory.items, result.items)  # the trained items are never written


def test_labels_aligned_and_scores_per_video(tiny):
    data, result = tiny
    ev = evaluate(result.model, data.test_set(5), data.labels)
    t = ev.per_frame
    assert len(t) == 2 * (12 - 4) and list(t.frame[:8]) == list(range(4, 12))
    np.testing.assert_array_equal(t.label[:8], data.labels["01"][4:])
    for v in t.videos:  # per-video min-max: every video spans [0, 1] in each normalised cue
        s = t.select(v)
        assert s.score.min() >= 0 and s.score.max() <= 1
    flat = evaluate(result.model, data.test_set(5), data.label_array)
    assert flat.auc == ev.auc
    with pytest.raises(DataError):
        evaluate(result.model, data.test_set(5), data.label_array[:-1])


def test_no_memory_ablation_scores_psnr_only():
    data = make_dataset(n_train=1, n_test=1, length=10, size=16, seed=1)
    r = train(TrainConfig(**{**CFG.__dict__, "use_memory": False}), data.train_set(5))
    assert r.items is None and r.model.memory is None
    ev = evaluate(r.model, data.test_set(5), data.labels, lam=0.6)
    p = ev.per_frame.psnr
    np.testing.assert_allclose(ev.per_frame.score, 1 - (p - p.min()) / (p.max() - p.min()))


def test_recon_variant_and_defaults():
    cfg = method_defaults("recon")
    assert (cfg.t_length, cfg.lambda_compact, cfg.lambda_separate) == (1, 0.01, 0.01)
    data = make_dataset(n_train=1, n_test=1, length=6, size=16, seed=2)
    small = TrainConfig(**{**cfg.__dict__, "width": 2, "size": 16, "max_iters": 2, "num_workers": 0, "device": "cpu", "seed": 0})
    r = train(small, data.train_set(1))
    ev = evaluate(r.model, data.test_set(1), data.labels)
    assert len(ev.per_frame) == 6  # recon keeps every frame


def test_checkpoint_round_trip(tmp_path):
    data = make_dataset(n_train=1, n_test=1, length=8, size=16, seed=3)
    r = train(CFG, data.train_set(5), output_dir=tmp_path)
    model, cfg = load_model(tmp_path / "checkpoint.pt")
    assert cfg.width == 2 and cfg.seed == 0
    torch.testing.assert_close(model.memory.items, r.items)
    x = data.test_set(5)[0].unsqueeze(0)[:, :12]
    torch.testing.assert_close(model(x).frame, r.model(x).frame)


def test_too_short_videos():
    data = make_dataset(n_train=1, n_test=1, length=4, size=16, seed=3)
    with pytest.raises(DataError, match="shorter"):
        train(CFG, data.train_set(5))
    with pytest.raises(ValueError):
        TrainConfig(size=30)


@pytest.mark.parametrize("name", ["ped2_mnad_pred", "ped2_mnad_recon", "avenue_mnad_pred", "shanghai_mnad_pred"])
def test_recipes_load(name):
    from cvcore.config import load_config
    from mnad.config import recipe_path

    cfg = load_config(TrainConfig, recipe_path(name))
    assert cfg.dataset == name.split("_")[0] and cfg.lr == 2e-4 and cfg.batch_size == 4
    assert (cfg.t_length, cfg.lambda_compact) == ((1, 0.01) if cfg.method == "recon" else (5, 0.1))
    assert cfg.epochs == (10 if name.startswith("shanghai") else 60)
