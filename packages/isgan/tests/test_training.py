import pytest
import torch

from cvcore.errors import CheckpointError
from isgan.losses import ISGANLoss
from isgan.steps import adversarial_step, make_fakes, stage1_step
from isgan.trainer import StageTrainer, TrainConfig, build_optimizers


def _snapshot(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def _changed(before, module):
    after = module.state_dict()
    return {k for k in before if not torch.equal(before[k], after[k])}


def _groups(model):
    return {name: [m for m in mods] for name, mods in model.stage_groups().items()}


@pytest.mark.parametrize("stage", [1, 2, 3])
def test_a_step_updates_only_the_stage_parameters(tiny_model, batch, stage):
    x, y = batch
    model = tiny_model.set_stage(stage).train()
    opt, opt_d, _, _ = build_optimizers(model, TrainConfig(), stage)
    snaps = {name: [_snapshot(m) for m in mods] for name, mods in _groups(model).items()}
    if stage == 1:
        stage1_step(model, opt, x, y)
    else:
        adversarial_step(model, opt, opt_d, x, y, stage, ISGANLoss(), generator=torch.Generator().manual_seed(0))
    trainable = model.trainable_groups(stage)
    for name, mods in _groups(model).items():
        changed = set().union(*(_changed(s, m) for s, m in zip(snaps[name], mods)))
        if name in trainable:
            assert changed, f"stage {stage}: {name} did not change"
        else:  # weights and BatchNorm running statistics bit-identical
            assert not changed, f"stage {stage}: frozen {name} changed: {sorted(changed)[:3]}"


def test_d_is_stepped_on_detached_fakes_and_its_generator_pass_gradients_are_dropped(tiny_model, batch):
    x, y = batch
    model = tiny_model.set_stage(2).train()
    opt, opt_d, _, _ = build_optimizers(model, TrainConfig(), 2)
    adversarial_step(model, opt, opt_d, x, y, 2, ISGANLoss(), generator=torch.Generator().manual_seed(0))
    assert all(p.grad is None for p in model.discriminator.parameters())
    assert any(p.grad is not None for p in model.generator.parameters())


def test_fakes_use_the_partner_identity_code(tiny_model, batch):
    x, y = batch
    model = tiny_model.set_stage(2).eval()
    out, fakes, partner, mask = make_fakes(model, x, y, images_per_id=2, ids_per_batch=4,
                                           generator=torch.Generator().manual_seed(1))
    assert torch.equal(y[partner], y) and (partner != torch.arange(8)).all()
    assert 0 < int(mask.sum()) < 8 and all(f.shape == x.shape for f in fakes)


def test_official_compat_part_shuffle_never_shuffles(batch, tiny_kwargs):
    from isgan import ISGAN

    model = ISGAN(6, (192, 128), official_compat=True, **tiny_kwargs).eval()
    _, _, partner, mask = make_fakes(model, *batch, images_per_id=2, ids_per_batch=4)
    assert not mask.any()
    assert model.discriminator.input_tanh


def test_stage3_lr_and_lr_mult(tiny_kwargs):
    from isgan import ISGAN

    model = ISGAN(4, (192, 128), **tiny_kwargs)
    opt, *_ = build_optimizers(model, TrainConfig(), 3)
    assert [g["lr"] for g in opt.param_groups] == [2e-5]
    opt, *_ = build_optimizers(model, TrainConfig(honour_lr_mult=True), 3)
    assert [g["lr"] for g in opt.param_groups] == pytest.approx([2e-5, 2e-7])
    opt, *_ = build_optimizers(model, TrainConfig(), 1)
    assert opt.defaults["amsgrad"] and opt.defaults["weight_decay"] == 5e-4


def _loader_factory(market):
    from isgan.data import load_dataset, train_loader

    ds = load_dataset("market1501", market)
    return ds, lambda stage: train_loader(ds, height=96, width=48, stage=stage, ids_per_batch=2, images_per_id=2,
                                          seed=stage)


def test_hand_over_resume_and_schedule(tmp_path, market, tiny_kwargs):
    from isgan import ISGAN

    ds, loader = _loader_factory(market)
    cfg = TrainConfig(ids_per_batch=2, images_per_id=2, epochs_stage1=2, epochs_stage2=2, epochs_stage3=1,
                      steps_per_epoch=1, milestones=[2])
    torch.manual_seed(0)
    model = ISGAN(ds.num_train_pids, (96, 48), **tiny_kwargs)
    trainer = StageTrainer(model, cfg, loader, tmp_path / "run", quiet=True)
    s1 = trainer.fit(1)
    assert s1.name == "isgan_stage1_002.pt" and s1.is_file()
    lrs = [r["lr"] for r in trainer.metrics.read()]
    assert lrs == [2e-4, pytest.approx(2e-5)]  # milestone 2 decays epoch 2 itself (official order)

    # stage 2 from stage 1: encoders carried over, G and D fresh
    enc_after_s1 = _snapshot(model.encoder)
    model2 = ISGAN(ds.num_train_pids, (96, 48), **tiny_kwargs)
    t2 = StageTrainer(model2, cfg, loader, tmp_path / "run", quiet=True)
    with pytest.raises(CheckpointError, match="stage-1 checkpoint; stage 3"):
        t2.fit(3, init_from=s1)
    t2.model.set_stage(2)
    t2.hand_over(2, s1, build_optimizers(model2, cfg, 2))
    for k, v in enc_after_s1.items():
        assert torch.equal(model2.encoder.state_dict()[k], v), k

    # resume an interrupted stage 1 run: same weights as the uninterrupted one
    from cvcore.seed import seed_everything

    seed_everything(0)  # erasing / flip draw from Python's and torch's generators
    m_a = ISGAN(ds.num_train_pids, (96, 48), **tiny_kwargs)
    cfg1 = TrainConfig(ids_per_batch=2, images_per_id=2, epochs_stage1=1, steps_per_epoch=1, milestones=[2])
    StageTrainer(m_a, cfg1, loader, tmp_path / "a", quiet=True).fit(1)
    seed_everything(123)  # the resumed process starts from other generator states
    m_b = ISGAN(ds.num_train_pids, (96, 48), **tiny_kwargs)
    cfg2 = TrainConfig(ids_per_batch=2, images_per_id=2, epochs_stage1=2, steps_per_epoch=1, milestones=[2])
    StageTrainer(m_b, cfg2, loader, tmp_path / "a", quiet=True).fit(1, resume=tmp_path / "a" / "last.pt")
    seed_everything(0)
    m_c = ISGAN(ds.num_train_pids, (96, 48), **tiny_kwargs)
    StageTrainer(m_c, cfg2, loader, tmp_path / "c", quiet=True).fit(1)
    for k, v in m_c.state_dict().items():
        assert torch.equal(m_b.state_dict()[k], v), k
