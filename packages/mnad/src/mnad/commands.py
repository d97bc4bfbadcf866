"""What each ``mnad`` sub-command does (``cli.py`` only parses and dispatches)."""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path
from typing import Any

from cvcore import cli
from cvcore.errors import CheckpointError, DataError, UserError
from cvcore.io import atomic_write_json

__all__ = ["demo_command", "eval_command", "export_command", "score_command", "train_command"]


def _weights(args: argparse.Namespace) -> Path:
    path = getattr(args, "checkpoint", None) or getattr(args, "weights", None)
    if path is None:
        raise UserError("no model given: pass --checkpoint PATH (or --weights PATH), e.g. runs/mnad/checkpoint.pt")
    return Path(path)


def train_command(args: argparse.Namespace) -> int:
    from mnad.config import TrainConfig, method_defaults
    from mnad.data import DATASETS
    from mnad.engine.train import CHECKPOINT_NAME, train

    explicit: dict[str, Any] = {
        "dataset": args.dataset, "method": args.method, "epochs": args.epochs, "batch_size": args.batch_size,
        "lr": args.lr, "lambda_compact": args.lambda_compact, "lambda_separate": args.lambda_separate,
        "num_items": args.num_items, "width": args.width, "size": args.size, "t_length": args.t_length,
        "color": args.color, "normalize": args.normalize, "max_iters": args.max_iters, "seed": args.seed,
        "device": args.device, "num_workers": args.num_workers, "use_memory": False if args.no_memory else None,
    }
    try:
        cfg = cli.resolve_config(TrainConfig, args, base=method_defaults(args.method or "pred"), explicit=explicit)
        if cfg.method != (args.method or "pred"):  # method set in the TOML file: use its defaults
            cfg = cli.resolve_config(TrainConfig, args, base=method_defaults(cfg.method), explicit=explicit)
    except ValueError as exc:
        raise UserError(f"invalid configuration: {exc}") from exc
    if args.data_root is None:
        raise UserError("--data-root is required: a folder with training/frames/<video>/<frame>.jpg")
    dataset = DATASETS[cfg.dataset](args.data_root, "training", t_length=cfg.t_length, size=cfg.size, color=cfg.color)
    out = Path(args.output_dir) if args.output_dir else Path("runs") / f"mnad-{cfg.dataset}-{cfg.method}"
    resume = None
    if args.resume is not None:
        resume = out / CHECKPOINT_NAME if args.resume == "auto" else Path(args.resume)
    t0 = time.monotonic()
    result = train(cfg, dataset, output_dir=out, resume=resume, verbose=bool(args.verbose))
    last = result.history[-1] if result.history else {}
    summary = {"checkpoint": str(result.checkpoint), "epochs": last.get("epoch"), "steps": last.get("step"),
               "loss": last.get("loss"), "samples": len(dataset), "videos": len(dataset.names),
               "time_s": round(time.monotonic() - t0, 2)}
    cli.emit(summary, args, name="train_summary.json")
    return 0


def _load(args: argparse.Namespace, default_color: str = "bgr") -> tuple[Any, int, int, str]:
    """(model, t_length, size, color) from our checkpoint or an official model + items."""
    from cvcore.distributed import resolve_device
    from mnad.engine.evaluate import load_model
    from mnad.models.official import load_official

    device = resolve_device(args.device)
    path = _weights(args)
    if args.official_items is not None:
        method = args.method or "pred"
        model = load_official(path, args.official_items, method, trust_pickle=args.trust_pickle,
                              map_location="cpu").to(device)
        return model, (5 if method == "pred" else 1), args.size or 256, args.color or default_color
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    model, cfg = load_model(path, device)
    if args.method is not None and args.method != cfg.method:
        raise UserError(f"--method {args.method} given, but the checkpoint holds a {cfg.method!r} model")
    return model, cfg.t_length, args.size or cfg.size, args.color or cfg.color


def _default_labels(root: Path, dataset: str) -> list[Path]:
    from mnad.data import DATASETS

    name = DATASETS[dataset].label_file
    cands = [root / name] if name else []
    cands += [root / "frame_labels.npy", root / "testing" / "labels", root / "testing" / "test_frame_mask"]
    return cands


def _scores_summary(result: Any, lam: float | None, gamma: float | None, model: Any) -> dict[str, Any]:
    from mnad.scores import DEFAULT_GAMMA, DEFAULT_LAMBDA

    v = getattr(model, "variant", "pred")
    table = result.per_frame
    out = {"auc": result.auc, "auc_percent": None if result.auc is None else round(100 * result.auc, 2),
           "frames": len(table), "videos": len(table.videos),
           "updated_fraction": float(table.updated.mean()) if len(table) else 0.0,
           "lambda": (1.0 if model.memory is None else (DEFAULT_LAMBDA[v] if lam is None else lam)),
           "gamma": DEFAULT_GAMMA[v] if gamma is None else gamma, "method": v,
           "memory": model.memory is not None}
    return out


def eval_command(args: argparse.Namespace) -> int:
    from mnad.data import DATASETS, load_labels
    from mnad.engine.evaluate import evaluate
    from mnad.plot import plot_videos

    model, t_length, size, color = _load(args)
    if args.data_root is None:
        raise UserError("--data-root is required: a folder with testing/frames/<video>/<frame>.jpg")
    ds = DATASETS[args.dataset](args.data_root, "testing", t_length=t_length, size=size, color=color)
    if args.labels is not None:
        label_path = Path(args.labels)
    else:
        cands = _default_labels(Path(args.data_root), args.dataset)
        label_path = next((c for c in cands if c.exists()), None)
        if label_path is None:
            raise DataError(f"no frame labels found: pass --labels FILE|DIR or put {cands[0]} there "
                            "(official frame_labels_*.npy, or a folder of per-video <video>.npy)")
    labels = load_labels(label_path, ds.videos)
    result = evaluate(model, ds, labels, lam=args.lam, gamma=args.gamma, test_update=not args.no_test_update,
                      auc=args.auc)
    summary = _scores_summary(result, args.lam, args.gamma, model)
    summary["auc_mode"] = args.auc
    if args.save_scores is not None:
        summary["scores_csv"] = str(result.per_frame.to_csv(args.save_scores))
    if args.plot:
        out = Path(args.output_dir) if args.output_dir else Path("mnad-eval")
        summary["plots"] = [str(p) for p in plot_videos(result.per_frame, out / "plots")]
    cli.emit(summary, args)
    return 0


def score_command(args: argparse.Namespace) -> int:
    from mnad.data import VideoFramesDataset, load_labels
    from mnad.engine.evaluate import evaluate
    from mnad.plot import plot_videos

    if args.video_dir is None and args.data_root is None:
        raise UserError("no footage given: pass --video-dir DIR (one folder of frames or a folder of video folders)")
    model, t_length, size, color = _load(args)
    ds = VideoFramesDataset(args.video_dir or args.data_root, t_length=t_length, size=size, color=color)
    if len(ds) == 0:
        raise DataError(f"no video in {args.video_dir} has at least {t_length} frames")
    labels = load_labels(args.labels, ds.videos) if args.labels is not None else None
    result = evaluate(model, ds, labels, lam=args.lam, gamma=args.gamma, test_update=not args.no_test_update)
    out_dir = Path(args.output_dir) if args.output_dir else Path("mnad-scores")
    target = Path(args.output) if args.output else out_dir / "scores.csv"
    if target.suffix.lower() == ".json":
        atomic_write_json(target, result.per_frame.rows())
    else:
        result.per_frame.to_csv(target)
    summary = _scores_summary(result, args.lam, args.gamma, model)
    summary["scores"] = str(target)
    if not args.no_plot:
        summary["plots"] = [str(p) for p in plot_videos(result.per_frame, out_dir / "plots")]
    cli.emit(summary, args, name="score_summary.json")
    return 0


def demo_command(args: argparse.Namespace) -> int:
    import torch

    from cvcore.progress import get_logger
    from mnad.config import TrainConfig
    from mnad.engine.evaluate import evaluate
    from mnad.engine.train import train
    from mnad.plot import plot_scores
    from mnad.synthetic import make_dataset

    if args.size % 8:
        raise UserError(f"--size must be a multiple of 8, got {args.size}")
    log = get_logger("mnad", bool(args.verbose))
    if args.threads is None:
        # tiny convolutions: one intra-op thread is faster than two on a 2-core machine, and much
        # faster when other processes compete (OpenMP spinning; CONVENTIONS section 9)
        torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    seed = 0 if args.seed is None else args.seed
    t0 = time.monotonic()
    data = make_dataset(n_train=8, n_test=6, length=60, size=args.size, seed=seed)
    base = TrainConfig(method="pred", width=args.width, size=args.size, lr=1e-3, epochs=10**6,
                       max_iters=args.iters, seed=seed, device=args.device, num_workers=0)
    results = {}
    for label, use_memory in (("MNAD (memory)", True), ("no memory", False)):
        log.info("training %s for %d iterations", label, args.iters)
        r = train(dataclasses.replace(base, use_memory=use_memory), data.train_set(5))
        results[label] = evaluate(r.model, data.test_set(5), data.labels)
    mem, nomem = results["MNAD (memory)"], results["no memory"]
    out = Path(args.output_dir) if args.output_dir else Path("mnad-demo")
    plot = plot_scores({k: v.per_frame for k, v in results.items()}, out / "demo_scores.png",
                       title=f"synthetic videos: AUC memory {100 * mem.auc:.1f} vs no memory {100 * nomem.auc:.1f}")
    summary = {"auc_memory": round(mem.auc, 4), "auc_no_memory": round(nomem.auc, 4), "iters": args.iters,
               "width": args.width, "size": args.size, "seed": seed, "test_frames": len(mem.per_frame),
               "plot": str(plot), "time_s": round(time.monotonic() - t0, 1)}
    log.info("frame AUC: MNAD %.2f | without memory %.2f (synthetic, %d test frames)",
             100 * mem.auc, 100 * nomem.auc, len(mem.per_frame))
    cli.emit(summary, args, name="demo.json")
    return 0


def export_command(args: argparse.Namespace) -> int:
    import torch

    from mnad.engine.evaluate import load_model
    from mnad.export import export_program

    model, cfg = load_model(_weights(args), "cpu")
    if model.memory is None:
        raise UserError("export needs a model with memory (this checkpoint was trained with --no-memory)")
    out = Path(args.output_dir) if args.output_dir else Path("mnad-export")
    prog = export_program(model, out / "mnad_scoring.pt2", size=cfg.size)
    from cvcore.io import atomic_write_with

    items = atomic_write_with(out / "items.pt", lambda f: torch.save(model.memory.items.detach().clone(), f))
    meta = {"program": str(prog), "items": str(items), "inputs": {"x": [1, model.in_channels, cfg.size, cfg.size],
            "items": list(model.memory.items.shape)}, "outputs": ["frame", "feature_distance", "updated_items"],
            "method": cfg.method, "t_length": cfg.t_length, "color": cfg.color}
    atomic_write_json(out / "export.json", meta)
    cli.emit(meta, args, name="export_summary.json")
    return 0
