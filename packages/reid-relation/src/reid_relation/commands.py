"""Implementations of the ``reid-relation`` sub-commands (``cli.py`` only parses and dispatches)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from cvcore import cli
from cvcore.checkpoint import load_checkpoint
from cvcore.config import from_dict
from cvcore.distributed import resolve_device
from cvcore.errors import CheckpointError, DataError, UserError
from reid_relation.config import EvalConfig, TrainConfig
from reid_relation.model import RelationNet

__all__ = ["cmd_eval", "cmd_export", "cmd_extract", "cmd_search", "cmd_train", "load_model"]


def load_model(path: str | Path | None, official: bool = False) -> tuple[RelationNet, TrainConfig]:
    """A model from our checkpoint (config inside) or, with ``official``, the authors' file."""
    if path is None:
        raise UserError("no checkpoint given (use --checkpoint PATH)")
    from reid_relation.train import PACKAGE, build_model

    if official:
        from reid_relation.official import load_official_checkpoint, num_classes_of

        sd = load_official_checkpoint(path)
        model = RelationNet(num_classes_of(sd), backbone="resnet50")
        _load_state(model, sd)
        return model.eval(), TrainConfig()
    from reid_relation import __version__

    ck = load_checkpoint(path, package=PACKAGE, version=__version__)
    try:
        cfg = from_dict(TrainConfig, ck.get("config") or {})
    except UserError as exc:
        raise CheckpointError(f"checkpoint {path} has an unusable config ({exc})") from exc
    cfg.model.weights = "none"
    model = build_model(cfg, int(ck.get("extra", {}).get("num_classes", 0)))
    _load_state(model, ck["model"])
    return model.eval(), cfg


def _load_state(model: RelationNet, sd: dict[str, torch.Tensor]) -> None:
    own = model.state_dict()
    sd = dict(sd)
    for k, v in own.items():  # PyTorch 0.4.1 BN has no num_batches_tracked
        if k.endswith("num_batches_tracked") and k not in sd:
            sd[k] = v
    try:
        model.load_state_dict(sd, strict=True)
    except RuntimeError as exc:
        raise CheckpointError(f"checkpoint does not fit RelationNet: {str(exc).splitlines()[0]}") from exc


def _explicit(args: argparse.Namespace, mapping: dict[str, str]) -> dict[str, Any]:
    return {key: getattr(args, attr) for attr, key in mapping.items() if getattr(args, attr, None) is not None}


TRAIN_FLAGS = {
    "dataset": "data.dataset", "height": "data.height", "width": "data.width", "batch_size": "data.batch_size",
    "num_instances": "data.num_instances", "sampler": "data.sampler", "erasing": "data.erasing",
    "holdout_val": "data.holdout_val", "backbone": "model.backbone", "backbone_width": "model.width",
    "feat_dim": "model.feat_dim", "backbone_weights": "model.weights", "epochs": "optim.epochs", "lr": "optim.lr",
    "backbone_lr": "optim.backbone_lr", "gamma": "optim.gamma", "momentum": "optim.momentum",
    "weight_decay": "optim.weight_decay", "margin": "optim.margin", "ce_weight": "optim.ce_weight",
    "label_smoothing": "optim.label_smoothing", "max_steps": "optim.max_steps_per_epoch", "seed": "seed",
    "eval_every": "eval_every", "amp": "amp",
}


def cmd_train(args: argparse.Namespace) -> int:
    from reid_relation.train import Trainer

    explicit = _explicit(args, TRAIN_FLAGS)
    if args.data_root is not None:
        explicit["data.root"] = str(args.data_root)
    if args.output_dir is not None:
        explicit["output_dir"] = str(args.output_dir)
    if args.milestones is not None:
        explicit["optim.milestones"] = list(args.milestones)
    if args.official_erasing_offset:
        explicit["data.official_erasing_offset"] = True
    explicit["data.workers"] = args.num_workers
    explicit["device"] = args.device
    cfg = cli.resolve_config(TrainConfig, args, explicit=explicit)
    res = Trainer(cfg, resume=args.resume).fit()
    last = res["history"][-1] if res["history"] else {}
    cli.emit({"epochs": res["epochs"], "checkpoint": res["checkpoint"], **{k: last[k] for k in last}}, args,
             name="train_summary.json")
    return 0


def _eval_cfg(args: argparse.Namespace) -> EvalConfig:
    return EvalConfig(protocol=args.protocol, separate_cameras=args.separate_cameras, flip=not args.no_flip,
                      rerank=args.rerank, k1=args.k1, k2=args.k2, lambda_value=args.lambda_value,
                      seed=args.seed or 0, descriptor=args.descriptor)


def _load_eval_data(args: argparse.Namespace, cfg: Any) -> Any:
    """The data set named by the flags, falling back to the checkpoint's training config."""
    from reid_relation.train import load_data

    def pick(flag: str) -> Any:
        v = getattr(args, flag, None)
        return v if v is not None else getattr(cfg.data, flag)

    return load_data(args.dataset or cfg.data.dataset, str(args.data_root or cfg.data.root or ""),
                     cuhk03_layout=pick("cuhk03_layout"), cuhk03_protocol=pick("cuhk03_protocol"),
                     cuhk03_split=pick("cuhk03_split"))


def cmd_eval(args: argparse.Namespace) -> int:
    from reid_relation.evaluate import evaluate

    model, cfg = load_model(args.checkpoint or args.weights, args.official)
    device = resolve_device(args.device)
    ds = _load_eval_data(args, cfg)
    h, w = args.height or cfg.data.height, args.width or cfg.data.width
    res = evaluate(model.to(device), ds, h, w, _eval_cfg(args), device=device, workers=args.num_workers,
                   return_distmat=bool(args.visrank))
    dist = res.pop("distmat", None)
    if args.visrank:
        from cvcore.reid.vis import visualize_ranked_results

        out = args.visrank_dir or (Path(args.output_dir) / "visrank" if args.output_dir else Path("visrank"))
        res["visrank"] = [str(p) for p in visualize_ranked_results(dist, ds.query, ds.gallery, out, topk=args.visrank,
                                                                   max_queries=args.visrank_queries)]
    cli.emit(res, args)
    if args.json:
        from cvcore.io import atomic_write_json

        atomic_write_json(args.json, res)
    return 0


def _records_of_folder(folder: Path) -> list:
    from cvcore.data.images import list_images
    from cvcore.reid.data import MARKET_NAME, ImageRecord

    files = list_images(folder)
    if not files:
        raise DataError(f"no images (.jpg/.png/...) in {folder}")
    recs = []
    for p in files:
        m = MARKET_NAME.match(p.name)
        recs.append(ImageRecord(str(p), int(m.group(1)) if m else -1, int(m.group(2)) - 1 if m else -1))
    return recs


def cmd_extract(args: argparse.Namespace) -> int:
    from reid_relation.evaluate import extract

    model, cfg = load_model(args.checkpoint or args.weights, args.official)
    device = resolve_device(args.device)
    if args.images is not None:
        recs = _records_of_folder(Path(args.images))
    else:
        ds = _load_eval_data(args, cfg)
        recs = getattr(ds, args.split)
    h, w = args.height or cfg.data.height, args.width or cfg.data.width
    f, pids, cams, paths = extract(model.to(device), recs, h, w, flip=not args.no_flip, descriptor=args.descriptor,
                                   device=device, workers=args.num_workers)
    from cvcore.io import atomic_write_with

    atomic_write_with(args.out, lambda fh: np.savez(fh, features=f.numpy(), pids=pids, camids=cams,
                                                    paths=np.asarray(paths)))
    cli.emit({"out": str(args.out), "num_images": int(f.shape[0]), "dim": int(f.shape[1])}, args,
             name="extract.json")
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    from cvcore.data.images import read_image
    from cvcore.reid.data import ImageRecord
    from cvcore.reid.metrics import pairwise_distance
    from cvcore.reid.vis import visualize_ranked_results
    from reid_relation.evaluate import extract

    model, cfg = load_model(args.checkpoint or args.weights, args.official)
    device = resolve_device(args.device)
    read_image(args.query)  # clear error for a missing / non-image query
    gallery = _records_of_folder(Path(args.gallery))
    h, w = args.height or cfg.data.height, args.width or cfg.data.width
    q = [ImageRecord(str(args.query), -2, -2)]
    qf, *_ = extract(model.to(device), q, h, w, device=device)
    gf, *_ = extract(model, gallery, h, w, device=device)
    d = pairwise_distance(qf, gf).numpy()
    order = np.argsort(d[0], kind="stable")[: args.topk]
    out_dir = Path(args.output_dir or "search")
    png = visualize_ranked_results(d, q, gallery, out_dir, topk=args.topk, skip_same_cam=False, show_correct=False)[0]
    result = {"query": str(args.query), "png": str(png),
              "ranking": [{"path": gallery[j].path, "distance": float(d[0, j])} for j in order]}
    cli.emit(result, args, name="search.json")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from cvcore.io import atomic_write_with
    from reid_relation.model import RelationEmbedder

    model, cfg = load_model(args.checkpoint or args.weights, args.official)
    h, w = args.height or cfg.data.height, args.width or cfg.data.width
    emb = RelationEmbedder(model.eval(), flip=not args.no_flip, descriptor=args.descriptor).eval()
    example = torch.randn(2, 3, h, w)
    batch = torch.export.Dim("batch", min=1, max=1024)
    prog = torch.export.export(emb, (example,), dynamic_shapes={"x": {0: batch}})
    out = Path(args.out)
    atomic_write_with(out, lambda fh: torch.export.save(prog, fh))
    cli.emit({"out": str(out), "input": [None, 3, h, w], "dim": int(emb(example).shape[1])}, args, name="export.json")
    return 0


def dump(obj: Any) -> str:
    return json.dumps(obj)
