"""Implementations of the ``hvpr`` sub-commands (``hvpr.cli`` only parses and dispatches)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from cvcore import cli
from cvcore.errors import CheckpointError, DataError, UserError


def _need(args: argparse.Namespace, name: str, flag: str) -> Any:
    value = getattr(args, name, None)
    if value is None:
        raise UserError(f"{flag} is required")
    return value


def _config(args: argparse.Namespace, default: str = "kitti_car"):
    from hvpr.config import load_config

    return load_config(str(args.config) if args.config is not None else default, args.set)


def _seed(args: argparse.Namespace) -> int:
    return 0 if args.seed is None else int(args.seed)


def _load_model(args: argparse.Namespace):
    """The checkpoint of ``--weights`` with ``--set`` overrides applied to its stored config (e.g. post.*)."""
    import torch

    from cvcore.config import apply_overrides
    from cvcore.distributed import resolve_device
    from hvpr.model import HVPR

    path = _need(args, "weights", "--weights")
    model = HVPR.from_checkpoint(str(path))
    if args.set:
        cfg = apply_overrides(model.config, args.set).validate()
        state = model.state_dict()
        model = HVPR(cfg)
        try:
            model.load_state_dict(state)
        except RuntimeError as exc:
            raise CheckpointError(f"--set changes the network shape of {path}: {str(exc).splitlines()[0]}") from exc
    torch.manual_seed(0)
    return model.to(resolve_device(args.device)).eval()


# ---------------------------------------------------------------------------------------------- data
def cmd_synth(args: argparse.Namespace) -> int:
    from hvpr.data.synthetic import write_synthetic_kitti

    out = _need(args, "output_dir", "--output-dir")
    classes = tuple(c.strip() for c in args.classes.split(",") if c.strip())
    root = write_synthetic_kitti(out, args.num_train, args.num_val, _seed(args), num_test=args.num_test,
                                 classes=classes)
    cli.emit({"root": str(root), "num_train": args.num_train, "num_val": args.num_val, "num_test": args.num_test,
              "classes": list(classes)})
    return 0


def cmd_make_infos(args: argparse.Namespace) -> int:
    from hvpr.data.infos import make_infos

    root = _need(args, "data_root", "--data-root")
    shape = None
    if args.image_shape:
        try:
            h, w = (int(v) for v in args.image_shape.split(","))
        except ValueError:
            raise UserError(f"--image-shape must be H,W (e.g. 375,1242), got {args.image_shape!r}") from None
        shape = (h, w)
    splits = tuple(s.strip() for s in args.splits.split(",") if s.strip())
    paths = make_infos(root, args.output_dir, splits=splits, image_shape=shape, gt_database=not args.no_gt_database)
    cli.emit({k: str(v) for k, v in paths.items()})
    return 0


# ---------------------------------------------------------------------------------------------- train / eval
def cmd_train(args: argparse.Namespace) -> int:
    from hvpr.data.dataset import KittiDataset
    from hvpr.engine.evaluate import evaluate
    from hvpr.engine.train import train

    root = _need(args, "data_root", "--data-root")
    out = _need(args, "output_dir", "--output-dir")
    seed = _seed(args)
    if args.resume is not None:
        from cvcore.checkpoint import load_checkpoint
        from cvcore.config import from_dict
        from hvpr import __version__
        from hvpr.config import HVPRConfig

        stored = load_checkpoint(args.resume, package="hvpr", version=__version__)
        cfg = _config(args) if (args.config is not None or args.set) else from_dict(HVPRConfig, stored["config"])
    else:
        cfg = _config(args)
    train_set = KittiDataset(root, args.split, cfg, training=True, seed=seed)
    val_set = KittiDataset(root, args.val_split, cfg, training=False) if args.val_split else None

    def eval_fn(model, ds):
        res = evaluate(model, ds, seed=seed, metrics=("bev", "3d"), recall_points=(11, 40), quiet=args.quiet)
        return {k: round(v, 4) for k, v in res.items()}

    result = train(cfg, train_set, out, max_iters=args.max_iters, epochs=args.epochs, batch_size=args.batch_size,
                   seed=seed, device=args.device, resume=args.resume, val_dataset=val_set,
                   eval_every=args.eval_every, evaluate_fn=eval_fn if val_set is not None else None,
                   log_every=args.log_every, ckpt_every=args.ckpt_every, quiet=args.quiet)
    from cvcore.distributed import cleanup, is_main_process

    if is_main_process():
        cli.emit({"steps": result.steps, "checkpoint": str(result.checkpoint), **result.metrics}, args,
                 name="train.json")
    cleanup()
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from hvpr.data.dataset import KittiDataset
    from hvpr.engine.evaluate import evaluate

    root = _need(args, "data_root", "--data-root")
    model = _load_model(args)
    ds = KittiDataset(root, args.split, model.config, training=False)
    recall = {"11": (11,), "40": (40,), "both": (11, 40)}[args.recall]
    res = evaluate(model, ds, seed=_seed(args), metrics=tuple(args.metrics.split(",")), recall_points=recall,
                   overlaps="both", ablate_memory=args.ablate_memory, quiet=args.quiet,
                   return_annos=args.save_preds is not None)
    annos = res.pop("annos", None)
    if args.save_preds is not None:
        from hvpr.eval import write_kitti_annos

        for anno in annos:
            write_kitti_annos(args.save_preds, anno)
    try:
        from hvpr.eval import kitti_report

        print(kitti_report(res), file=sys.stderr)
    except ImportError:  # pragma: no cover - older eval module
        pass
    cli.emit({"split": args.split, "frames": len(ds), "ablate_memory": args.ablate_memory,
              **{k: round(v, 4) for k, v in res.items()}}, args)
    return 0


# ---------------------------------------------------------------------------------------------- detect
def cmd_detect(args: argparse.Namespace) -> int:
    import numpy as np

    from hvpr.data.kitti_io import Calibration
    from hvpr.scan import list_scans, read_scan
    from hvpr.vis import save_bev_png

    out = Path(_need(args, "output_dir", "--output-dir"))
    scans = list_scans(args.inputs)
    points = [read_scan(p) for p in scans]  # validate every input before writing anything
    if args.calib is not None:
        calib = Calibration.from_file(args.calib) if Path(args.calib).is_file() else None
        if calib is None:
            raise DataError(f"calibration file not found: {args.calib} (expected a KITTI calib/<id>.txt)")
    else:
        from hvpr.data.synthetic import synthetic_calibration

        calib = synthetic_calibration()
    shape = _image_shape(args.image_shape)
    model = _load_model(args)
    if args.score_thresh is not None:
        model.config.post.score_thresh = float(args.score_thresh)  # applied before NMS (E37)
    from hvpr.eval import predictions_to_kitti_annos, write_kitti_annos

    r = model.config.data.point_range
    frames = []
    for path, pts in zip(scans, points):
        det = model.predict(pts, seed=_seed(args))
        anno = predictions_to_kitti_annos(det, calib, path.stem, shape)
        label = write_kitti_annos(out / "label_2", anno, path.stem)
        png = save_bev_png(out / "bev" / f"{path.stem}.png", pts, pred_boxes=det.boxes, scores=det.scores,
                           range=(r[0], r[1], r[3], r[4]), resolution=args.resolution)
        frames.append({"scan": str(path), "detections": int(det.boxes.shape[0]), "label": str(label), "png": str(png),
                       "boxes_lidar": np.round(det.boxes.numpy(), 3).tolist(),
                       "scores": np.round(det.scores.numpy(), 4).tolist()})
    cli.emit({"frames": frames}, args, name="detections.json")
    return 0


def _image_shape(text: str | None) -> tuple[int, int]:
    if not text:
        from hvpr.data.synthetic import SYNTHETIC_IMAGE_SHAPE

        return tuple(SYNTHETIC_IMAGE_SHAPE)  # type: ignore[return-value]
    try:
        h, w = (int(v) for v in text.split(","))
    except ValueError:
        raise UserError(f"--image-shape must be H,W (e.g. 375,1242), got {text!r}") from None
    return h, w


# ---------------------------------------------------------------------------------------------- demo / export
def cmd_demo(args: argparse.Namespace) -> int:
    import torch

    from hvpr.demo import run_demo

    if args.threads is None:  # small convolutions: one thread is faster on a 2-core machine (CONVENTIONS §9)
        torch.set_num_threads(1)

    out = Path(args.output_dir) if args.output_dir is not None else Path("hvpr_demo")
    result = run_demo(out, iters=args.iters, num_train=args.num_train, num_val=args.num_val, seed=_seed(args),
                      baseline=not args.no_baseline, device=args.device, quiet=args.quiet)
    print(result["table"])
    print(f"BEV picture: {result['png']}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from hvpr.export import export_model

    out = Path(_need(args, "output_dir", "--output-dir"))
    model = _load_model(args)
    scan = None
    if args.scan is not None:
        from hvpr.scan import read_scan

        scan = read_scan(args.scan)
    info = export_model(model, out, scan=scan, seed=_seed(args))
    cli.emit(info, args, name="export.json")
    return 0
