"""The spec's qualitative checks (section 11): an overfit smoke test of stages 1 and 2, and the
identity-swap colour test on synthetic identities whose shirt colour is the identity."""

import pytest
import torch

from isgan import ISGAN
from isgan.losses import ISGANLoss, LossWeights
from isgan.reconstruction import mean_image_l1, reconstruction_l1
from isgan.steps import adversarial_step, stage1_step
from isgan.trainer import TrainConfig, build_optimizers

SMALL = (96, 48)


def _batches(ds, stage, ids_per_batch=2, images_per_id=4):
    from isgan.data import train_loader

    while True:
        yield from train_loader(ds, height=SMALL[0], width=SMALL[1], stage=stage, ids_per_batch=ids_per_batch,
                                images_per_id=images_per_id, seed=stage)


def _train_images(ds):
    from isgan.data import test_loader

    xs, ys = zip(*[(x, y) for x, y, *_ in test_loader(ds.train, height=SMALL[0], width=SMALL[1], batch_size=64)])
    return torch.cat(xs), torch.cat(ys)


def test_overfit_a_few_images(market, tiny_kwargs):
    """Default-tier smoke test: 8 fixed images of 4 identities, stage 1 for 15 steps (the identity
    CE must drop by half), then stage 2 for 12 steps on the same images (the training-mode
    reconstruction term must drop by at least 10 %, measured 16 %)."""
    from isgan.data import load_dataset

    ds = load_dataset("market1501", market)
    x, y = _train_images(ds)
    idx = torch.cat([(y == c).nonzero()[:2, 0] for c in range(4)])
    x, y = x[idx], y[idx]
    torch.manual_seed(0)
    model = ISGAN(ds.num_train_pids, SMALL, **{**tiny_kwargs, "g_width": 8, "dropout": 0.0})
    cfg = TrainConfig(lr=3e-3)
    model.set_stage(1).train()
    opt, *_ = build_optimizers(model, cfg, 1)
    ce = [stage1_step(model, opt, x, y)["id"] for _ in range(15)]
    assert ce[-1] < 0.5 * ce[0], ce
    model.set_stage(2).train()
    opt, opt_d, *_ = build_optimizers(model, cfg, 2)
    gen, loss_fn = torch.Generator().manual_seed(0), ISGANLoss()
    rec = [adversarial_step(model, opt, opt_d, x, y, 2, loss_fn, images_per_id=2, ids_per_batch=4,
                            generator=gen)["rec_raw"] for _ in range(12)]
    assert sum(rec[-3:]) / 3 < 0.9 * sum(rec[:3]) / 3, rec


@pytest.mark.slow
def test_overfit_smoke_stage1_ce_and_stage2_reconstruction_drop(market, tiny_kwargs):
    """Stage 1 for 40 steps: the identity CE drops by at least 40 %; stage 2 for 30 steps: the
    eval-mode reconstruction L1 of the training images drops by at least 15 % (dead gradients,
    a frozen G or a detached code would leave them flat)."""
    from isgan.data import load_dataset

    ds = load_dataset("market1501", market)
    torch.manual_seed(0)
    model = ISGAN(ds.num_train_pids, SMALL, **{**tiny_kwargs, "g_width": 8, "dropout": 0.0})
    cfg = TrainConfig(lr=3e-3)
    model.set_stage(1).train()
    opt, *_ = build_optimizers(model, cfg, 1)
    batches = _batches(ds, 1)
    ce = [stage1_step(model, opt, *next(batches)[:2])["id"] for _ in range(40)]
    first, last = sum(ce[:5]) / 5, sum(ce[-5:]) / 5
    assert last < 0.6 * first, (first, last)

    x, y = _train_images(ds)
    model.set_stage(2).train()
    opt, opt_d, *_ = build_optimizers(model, cfg, 2)
    before = reconstruction_l1(model, x, y)["auto"]
    # L_cls off: early in training D's (random) class head pulls G away from the images, which
    # would hide a broken reconstruction path; the class term is checked in test_generator_discriminator
    batches, gen = _batches(ds, 2), torch.Generator().manual_seed(0)
    loss_fn = ISGANLoss(LossWeights(w_cls=0.0))
    for _ in range(30):
        xb, yb, *_ = next(batches)
        adversarial_step(model, opt, opt_d, xb, yb, 2, loss_fn, images_per_id=4, ids_per_batch=2, generator=gen)
    after = reconstruction_l1(model, x, y)
    assert after["auto"] < 0.85 * before, (before, after)
    assert after["shuffle"] < 0.85 * before  # the shuffled code rebuilds the image too
    print(f"stage-1 CE {first:.3f} -> {last:.3f}; reconstruction L1 {before:.3f} -> {after['auto']:.3f} "
          f"(mean image {mean_image_l1(x):.3f})")


def _torso(t, h, w):
    """Mean colour of the central torso box of the synthetic people, ``(N, 3, H, W) -> (N, 3)``."""
    return t[..., int(0.25 * h):int(0.45 * h), int(0.4 * w):int(0.6 * w)].mean((-1, -2))


@pytest.mark.slow
def test_identity_swap_follows_the_identity_code_colour(market, tiny_kwargs):
    """Spec section 11: after a short stage-2 run, ``generate`` with identity-from B gives an image
    whose shirt colour is closer to B's than the auto-encoding of A is (the data generator makes
    shirt colour part of the identity). Averaged over every image A paired with the first image
    of the next identity; 40 + 300 steps, a few minutes on 2 cores."""
    from isgan.commands import identity_swap
    from isgan.data import load_dataset

    ds = load_dataset("market1501", market)
    torch.manual_seed(0)
    h, w = SMALL
    model = ISGAN(ds.num_train_pids, SMALL, **{**tiny_kwargs, "feat_id": 32, "g_width": 8, "dropout": 0.0})
    cfg = TrainConfig(lr=3e-3)
    model.set_stage(1).train()
    opt, *_ = build_optimizers(model, cfg, 1)
    batches = _batches(ds, 1)
    for _ in range(40):
        stage1_step(model, opt, *next(batches)[:2])
    model.set_stage(2).train()
    opt, opt_d, *_ = build_optimizers(model, cfg, 2)
    # L_cls off: early in training D's (random) class head pulls G away from the images, which
    # would hide a broken reconstruction path; the class term is checked in test_generator_discriminator
    batches, gen = _batches(ds, 2), torch.Generator().manual_seed(0)
    loss_fn = ISGANLoss(LossWeights(w_cls=0.0))
    for _ in range(300):
        xb, yb, *_ = next(batches)
        adversarial_step(model, opt, opt_d, xb, yb, 2, loss_fn, images_per_id=4, ids_per_batch=2, generator=gen)

    x, y = _train_images(ds)
    first = {int(c): int((y == c).nonzero()[0]) for c in y.unique()}
    b_idx = torch.tensor([first[(int(c) + 1) % ds.num_train_pids] for c in y])
    auto, swap, _ = identity_swap(model, x, x[b_idx])
    target_b = _torso(torch.tanh(x[b_idx]), h, w)
    d_swap = (_torso(swap, h, w) - target_b).norm(dim=1)
    d_auto = (_torso(auto, h, w) - target_b).norm(dim=1)
    print(f"torso colour distance to B: swap {d_swap.mean():.3f}, auto-encoding {d_auto.mean():.3f}; "
          f"swap closer for {(d_swap < d_auto).float().mean():.2f} of the pairs")
    assert d_swap.mean() < d_auto.mean()
    assert (d_swap < d_auto).float().mean() > 0.5
