"""``isgan demo``: the whole method end to end on synthetic identities, on a CPU, in about two minutes.

A Market-1501-layout data set is generated (identity = clothing colours / patterns / bag;
nuisance = camera background, colour cast, pose, shift) and read back through the real parser.
A tiny model at 96x48 (tiny ResNet, G without dropout) runs the three stages; the demo prints

* rank-1 / mAP of the identity descriptor before and after training, beside the
  colour-histogram "oracle" that knows the data generator;
* the generator's reconstruction L1 (I8) on the training images (auto-encoding and identity
  shuffling, eval mode) before stage 2 and after stages 2 and 3, beside the mean-image baseline
  (predict every image by the mean training image);

and writes ``reconstructions.png`` (inputs over their auto-encodings), ``shuffle_grid.png`` and
ranked-result PNGs.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time
from pathlib import Path

from cvcore import cli
from cvcore.progress import get_logger

DEMO_STEPS = (30, 120, 10)  # iterations of stages 1 / 2 / 3
DEMO_SIZE = (96, 48)  # smallest size of the architecture family (see ISGAN); 4x fewer pixels than 192x128
DEMO_LR = 3e-3  # stages 1-2 (Adam); stage 3 at a tenth, as in the recipe's 2e-4 -> 2e-5
DEMO_DROPOUT = 0.0  # G's dropout 0.2 (recipe) slows a short run down (G alone, 150 steps: L1 0.40 vs 0.32)


def _records_tensor(records, height: int, width: int):
    import torch

    from isgan.data import test_loader

    xs, ys = [], []
    for x, y, *_ in test_loader(records, height=height, width=width, batch_size=64):
        xs.append(x)
        ys.append(y)
    return torch.cat(xs), torch.cat(ys)


def reconstruction_picture(model, x, y, count: int = 8, seed: int = 0):
    """Two rows: ``count`` inputs over their auto-encodings ``G(φ_R, φ_U)``, uint8 ``(H', W', 3)``."""
    import torch

    from cvcore.viz import image_grid
    from isgan.reconstruction import to_display

    model.eval()
    idx = torch.linspace(0, x.shape[0] - 1, count).round().long()
    with torch.no_grad():
        out = model.encoder(x[idx])
        noise = torch.randn(count, model.generator.noise_dim, generator=torch.Generator().manual_seed(seed))
        fake = model.generator(out.id_feat, out.nid_feat, y[idx], noise)
    tiles = [to_display(torch.tanh(t)) for t in x[idx]] + [to_display(t) for t in fake]
    return image_grid(tiles, ncols=count)


def run_demo(args: argparse.Namespace) -> int:
    import torch

    from cvcore.reid import evaluate_rank, make_market_like_dataset, oracle_features, pairwise_distance
    from cvcore.seed import seed_everything
    from cvcore.viz import save_png
    from isgan.commands import shuffle_grid
    from isgan.data import load_dataset, train_loader
    from isgan.evaluate import evaluate
    from isgan.model import ISGAN, ModelConfig
    from isgan.reconstruction import mean_image_l1, reconstruction_l1
    from isgan.trainer import StageTrainer, TrainConfig

    if not getattr(args, "threads", None):
        torch.set_num_threads(1)  # small convolutions: 1 thread ran 3-10x faster than 2 on 2 cores
    log = get_logger("isgan")
    t0 = time.monotonic()
    seed = args.seed or 0
    seed_everything(seed)
    out = Path(args.output_dir) if args.output_dir else Path(tempfile.mkdtemp(prefix="isgan-demo-"))
    out.mkdir(parents=True, exist_ok=True)
    data_root = out / "data"
    if not (data_root / "Market-1501-v15.09.15").is_dir():
        make_market_like_dataset(data_root, num_train_ids=8, num_test_ids=8, num_cams=3, imgs_per_id_cam=(1, 2),
                                 seed=seed)
    ds = load_dataset("market1501", data_root)
    steps = (args.steps,) * 3 if args.steps else DEMO_STEPS
    h, w = DEMO_SIZE
    mcfg = ModelConfig(num_classes=ds.num_train_pids, height=h, width=w, backbone="tiny", feat_id=32,
                       feat_nid=8, noise_dim=16, g_width=8, d_width=8, dropout=DEMO_DROPOUT)
    cfg = TrainConfig(model=mcfg, dataset="synthetic", milestones=[], seed=seed, lr=DEMO_LR, lr_stage3=DEMO_LR / 10)
    model = ISGAN.from_config(mcfg)
    x_train, y_train = _records_tensor(ds.train, h, w)

    def eval_now() -> dict[str, float]:
        r = evaluate(model, ds, height=h, width=w)
        r.pop("distmat")
        return {"rank1": round(100 * r["rank1"], 1), "mAP": round(100 * r["mAP"], 1)}

    def rec_now() -> dict[str, float]:
        return {k: round(v, 4) for k, v in reconstruction_l1(model, x_train, y_train, seed=seed).items()}

    before = eval_now()
    log.info("untrained: rank-1 %.1f  mAP %.1f", before["rank1"], before["mAP"])

    def loader(stage: int):
        return train_loader(ds, height=h, width=w, stage=stage, seed=seed + stage)

    # the identity sampler's epoch visits every identity once: P x K batches of 8 ids -> 2 steps
    per_epoch = max(1, len(loader(1)))
    epochs = [max(1, n // per_epoch) for n in steps]
    cfg = dataclasses.replace(cfg, epochs_stage1=epochs[0], epochs_stage2=epochs[1], epochs_stage3=epochs[2],
                              save_every=10**6)
    trainer = StageTrainer(model, cfg, loader, out / "checkpoints", quiet=args.quiet or None)
    rec: dict[str, dict[str, float]] = {}
    prev = trainer.fit(1)
    rec["before_stage2"] = rec_now()
    prev = trainer.fit(2, init_from=prev)
    rec["after_stage2"] = rec_now()
    trainer.fit(3, init_from=prev)
    rec["after_stage3"] = rec_now()
    after = eval_now()
    baseline = round(mean_image_l1(x_train), 4)

    q = [r.path for r in ds.query]
    g = [r.path for r in ds.gallery]
    oracle = evaluate_rank(pairwise_distance(oracle_features(q), oracle_features(g), "euclidean"),
                           [r.pid for r in ds.query], [r.pid for r in ds.gallery],
                           [r.camid for r in ds.query], [r.camid for r in ds.gallery])

    from cvcore.reid import visualize_ranked_results

    rec_png = save_png(out / "reconstructions.png", reconstruction_picture(model, x_train, y_train, seed=seed))
    other = int((y_train != y_train[0]).nonzero()[0])
    grid_path = save_png(out / "shuffle_grid.png",
                         shuffle_grid(model, x_train[:1], x_train[other:other + 1], [2, 3, 5, 6, 7], seed=seed))
    final = evaluate(model, ds, height=h, width=w)
    ranked = visualize_ranked_results(final["distmat"], ds.query, ds.gallery, out / "ranked", topk=5, max_queries=3)
    result = {
        "untrained": before,
        "isgan": after,
        "oracle_histogram": {"rank1": round(100 * oracle.rank(1), 1), "mAP": round(100 * oracle.mAP, 1)},
        "reconstruction_l1": {**rec, "mean_image_baseline": baseline},
        "steps_per_stage": [e * per_epoch for e in epochs],
        "image_size": [h, w],
        "reconstructions": str(rec_png),
        "shuffle_grid": str(grid_path),
        "ranked_results": [str(p) for p in ranked],
        "seconds": round(time.monotonic() - t0, 1),
    }
    err = sys.stderr
    print(f"isgan demo: rank-1 / mAP  untrained {before['rank1']:.1f} / {before['mAP']:.1f}   "
          f"after 3 stages {after['rank1']:.1f} / {after['mAP']:.1f}   "
          f"(colour-histogram oracle {result['oracle_histogram']['rank1']:.1f} / "
          f"{result['oracle_histogram']['mAP']:.1f})", file=err)
    b, a2, a3 = rec["before_stage2"], rec["after_stage2"], rec["after_stage3"]
    print(f"isgan demo: reconstruction L1 on the training images (auto-encoding / identity shuffle)  "
          f"untrained G {b['auto']:.3f} / {b['shuffle']:.3f}   after stage 2 {a2['auto']:.3f} / {a2['shuffle']:.3f}   "
          f"after stage 3 {a3['auto']:.3f} / {a3['shuffle']:.3f}   (mean-image baseline {baseline:.3f})", file=err)
    cli.emit(result, args, name="demo.json")
    return 0
