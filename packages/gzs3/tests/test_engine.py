import pytest
import torch

from cvcore.config import load_config
from gzs3.config import TrainConfig, preset_path
from gzs3.engine import build_optimizers, epoch_lr, set_epoch_lr, train
from gzs3.engine.builders import build_class_setup, build_model


def tiny_cfg(*extra):
    return load_config(TrainConfig, preset_path("synthetic_tiny"), [
        "optim.epochs=2", "optim.batch_size=4", "data.synthetic_train=8", "data.synthetic_val=2",
        "data.synthetic_size=32", "model.width=8", "eval_at_end=false", *extra])


def test_epoch_poly_schedule_and_groups():
    cfg = tiny_cfg("optim.epochs=5", "optim.lr=0.01", "optim.head_lr_mult=10", "optim.gen_lr=0.002")
    model = build_model(cfg, build_class_setup(cfg))
    sgd, adam = build_optimizers(model, cfg.optim)
    n_bb = sum(p.numel() for p in model.visual.backbone.parameters())
    assert sum(p.numel() for p in sgd.param_groups[0]["params"]) == n_bb
    assert sum(p.numel() for g in sgd.param_groups for p in g["params"]) == sum(p.numel() for p in model.visual.parameters())
    for e in range(1, 6):
        lrs = set_epoch_lr(sgd, e, cfg.optim)
        expect = 0.01 * (1 - (e - 1) / 5) ** 0.9
        assert lrs[0] == pytest.approx(expect) and lrs[1] == pytest.approx(10 * expect)
        assert adam.param_groups[0]["lr"] == 0.002
    assert epoch_lr(1.0, 1, 50) == 1.0
    with pytest.raises(ValueError):
        epoch_lr(1.0, 0, 50)


def test_train_resume_is_bit_exact(tmp_path):
    cfg = tiny_cfg()
    straight = train(cfg, tmp_path / "a")
    assert len(straight["losses"]) == 2 and all(torch.isfinite(torch.tensor(h["loss"])) for h in straight["losses"])
    first = train(load_config(TrainConfig, None, ["optim.epochs=1"], base=cfg), tmp_path / "b")
    assert first["losses"][0] == straight["losses"][0]
    resumed = train(cfg, tmp_path / "b", resume=tmp_path / "b" / "last.pt")
    a = torch.load(tmp_path / "a" / "last.pt", weights_only=True)["model"]
    b = torch.load(tmp_path / "b" / "last.pt", weights_only=True)["model"]
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert resumed["losses"] == straight["losses"]
    assert (tmp_path / "a" / "config.toml").is_file() and (tmp_path / "a" / "train_log.jsonl").is_file()
    # the lr read back per epoch follows the poly schedule; head 10x only when head_lr_mult says so
    assert straight["losses"][1]["lr"] == pytest.approx(cfg.optim.lr * 0.5 ** 0.9)


def test_training_keeps_backbone_bn_stats(tmp_path):
    cfg = tiny_cfg("optim.epochs=1", "model.freeze_backbone_bn=true")
    setup = build_class_setup(cfg)
    init = build_model(cfg, setup).state_dict()
    train(cfg, tmp_path)
    after = torch.load(tmp_path / "last.pt", weights_only=True)["model"]
    bb = [k for k in init if k.startswith("visual.backbone") and k.endswith("running_mean")]
    hd = [k for k in init if k.startswith("visual.decoder") and k.endswith("running_mean")]
    assert bb and all(torch.equal(init[k], after[k]) for k in bb)
    assert any(not torch.equal(init[k], after[k]) for k in hd)
    w = [k for k in init if k.startswith("visual.backbone") and k.endswith("weight") and init[k].ndim == 1]
    assert w
    assert any(not torch.equal(init[k], after[k]) for k in w)  # BN affine parameters still train


@pytest.mark.slow
def test_synthetic_training_learns_zero_shot(tmp_path):
    cfg = load_config(TrainConfig, preset_path("synthetic_tiny"), ["eval_at_end=true"])
    r = train(cfg, tmp_path)
    first, last = r["losses"][0], r["losses"][-1]
    assert last["bar"] < first["bar"] and last["ce"] < first["ce"]
    ac, nn = r["metrics"]["apollonius"]["miou"], r["metrics"]["none"]["miou"]
    assert ac["seen"] > 0.6 and ac["unseen"] > 0.05 and ac["unseen"] >= nn["unseen"]


def test_amp_step_bfloat16_on_cpu_close_to_fp32(tmp_path):
    from cvcore.amp import autocast_dtype
    from gzs3.data import SyntheticZeroShot
    from gzs3.engine import JoEmStep
    from gzs3.losses import JoEmLoss

    assert autocast_dtype("cpu") is torch.bfloat16 and autocast_dtype("cuda") is torch.float16
    cfg = tiny_cfg()
    setup = build_class_setup(cfg)
    model = build_model(cfg, setup).eval()  # eval: no dropout / BN updates, so both passes see one function
    ds = SyntheticZeroShot(4, 32, [c for c in setup.seen if c], seed=0)
    images = torch.stack([ds[i][0] for i in range(4)])
    labels = torch.stack([ds[i][1] for i in range(4)])
    loss = JoEmLoss(0.25, 5.0, 0.1)
    seen_dtypes = []
    hook = model.visual.classifier.register_forward_hook(lambda m, i, o: seen_dtypes.append(o.dtype))
    ref, ref_parts = JoEmStep(model, loss, setup.sc_classes)(images, labels)
    got, parts = JoEmStep(model, loss, setup.sc_classes, torch.bfloat16)(images, labels)
    hook.remove()
    assert seen_dtypes == [torch.float32, torch.bfloat16]  # autocast really ran the encoder in bf16
    assert got.dtype == torch.float32 and torch.isfinite(got)
    got_v, ref_v = float(got.detach()), float(ref.detach())
    assert abs(got_v - ref_v) <= 0.03 * abs(ref_v)
    for k in ("bar", "ce", "sc"):
        assert abs(float(parts[k].detach()) - float(ref_parts[k].detach())) <= 0.05 * abs(float(ref_parts[k].detach())) + 1e-3, k
    got.backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    # the engine and the CLI flag: a tiny --amp run trains with a finite loss
    from gzs3.cli import main

    out = tmp_path / "amp"
    assert main(["train", "--preset", "synthetic_tiny", "--amp", "--no-eval", "--output-dir", str(out), "-q",
                 "--set", "optim.epochs=1", "--set", "optim.batch_size=4", "--set", "data.synthetic_train=4",
                 "--set", "data.synthetic_size=32", "--set", "model.width=8"]) == 0
    from cvcore.config import load_config as _load

    assert _load(TrainConfig, out / "config.toml").amp is True
    ck = torch.load(out / "last.pt", weights_only=True)
    assert all(torch.isfinite(torch.tensor(h["loss"])) for h in ck["extra"]["history"])
