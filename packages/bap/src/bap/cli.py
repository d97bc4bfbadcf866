"""The ``bap`` command: argument parsing and dispatch only."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bap import __version__
from cvcore import cli
from cvcore.errors import CheckpointError, DataError, UserError

OFFICIAL_KINDS = ("stage1", "largefov", "deeplabv2")


def _threads(args: argparse.Namespace) -> None:
    if not getattr(args, "threads", None):
        import torch

        torch.set_num_threads(1)  # small CPU workloads: 1 thread beats 2 on the 2-core machines


def _device(args: argparse.Namespace) -> str:
    from cvcore.distributed import resolve_device

    return str(resolve_device(args.device))


def _need_root(args: argparse.Namespace) -> Path:
    if args.data_root is None:
        raise UserError("--data-root is required (the VOCdevkit/VOC2012 folder)")
    return Path(args.data_root)


def _load_model(args: argparse.Namespace, want: str) -> tuple[Any, Any]:
    """Model + config from ``--weights`` (a bap checkpoint, or an official one with ``--official KIND``)."""
    from bap.config import ClassifierConfig, SegConfig
    from bap.engine.train import build_classifier, build_segmenter
    from cvcore.checkpoint import load_checkpoint, restore
    from cvcore.config import from_dict

    if args.weights is None:
        raise UserError("--weights CHECKPOINT is required")
    kind = getattr(args, "official", None)
    if kind:
        from bap.official import load_official_checkpoint

        if (want == "classifier") != (kind == "stage1"):
            raise UserError(f"--official {kind} is not a {want} checkpoint")
        model = load_official_checkpoint(args.weights, kind)
        cfg = ClassifierConfig() if kind == "stage1" else SegConfig(arch=kind)
        return model.eval(), cfg
    ckpt = load_checkpoint(args.weights, package="bap", version=__version__)
    got = ckpt.get("extra", {}).get("kind")
    if got != want:
        raise CheckpointError(f"{args.weights} is a '{got}' checkpoint; this command needs a '{want}' checkpoint")
    if want == "classifier":
        cfg = from_dict(ClassifierConfig, ckpt["config"])
        model = build_classifier(cfg)
    else:
        cfg = from_dict(SegConfig, ckpt["config"])
        model = build_segmenter(cfg)
    restore(ckpt, model=model, rng=False)
    return model.eval(), cfg


def _crf_params(values: Sequence[float] | None, default: Any) -> Any:
    from bap.crf import CRFParams

    return default if values is None else CRFParams.from_list(list(values))


# ----------------------------------------------------------------------------------------------- commands
def cmd_make_bg_masks(args: argparse.Namespace) -> int:
    from bap.data import COCOBoxes, VOCBoxes, boxes_to_bg_mask
    from bap.data.voc import read_label_png  # noqa: F401
    from cvcore.data.images import write_image

    root = _need_root(args)
    ds = COCOBoxes(root, args.annotations, args.split) if args.dataset == "coco" else VOCBoxes(root, args.split)
    out = root / "BgMaskfromBoxes"
    n = 0
    for i in range(len(ds)):
        item = ds[i] if args.dataset == "coco" else None
        if item is None:
            img = ds.image(i)
            boxes, sid = ds.boxes(i), ds.ids[i]
        else:
            img, boxes, sid = item["image"], item["boxes"], item["id"]
        write_image(out / f"{sid}.png", boxes_to_bg_mask(boxes, *img.shape[:2]))
        n += 1
    cli.emit({"written": n, "folder": str(out)}, None)
    return 0


def cmd_train_classifier(args: argparse.Namespace) -> int:
    from bap.config import ClassifierConfig
    from bap.data import VOCBoxes
    from bap.engine.train import train_classifier

    _threads(args)
    cfg = cli.resolve_config(ClassifierConfig, args, explicit={
        "split": args.split, "pooling": args.pooling, "grid_size": args.grid_size, "iters": args.iters,
        "batch_size": args.batch_size, "lr": args.lr, "backbone": args.backbone, "seed": args.seed,
        "backbone_weights": args.backbone_weights and str(args.backbone_weights),
        "bins": list(args.bins) if args.bins else None, "milestones": list(args.milestones) if args.milestones else None,
        "amp": args.amp})
    ds = VOCBoxes(_need_root(args), cfg.split)
    out = Path(args.output_dir or "runs/stage1")
    res = train_classifier(cfg, ds, out, device=_device(args), resume=args.resume, quiet=args.quiet or None)
    cli.emit(res, args, name="train_metrics.json")
    return 0


def cmd_pseudo_label(args: argparse.Namespace) -> int:
    from bap.config import PseudoLabelConfig
    from bap.data import VOCBoxes, VOCSegmentation
    from bap.engine.generate import pseudo_label_dataset

    _threads(args)
    root = _need_root(args)
    cfg = cli.resolve_config(PseudoLabelConfig, args, explicit={
        "split": args.split, "bg_threshold": args.bg_threshold, "crf": list(args.crf) if args.crf else None,
        "crf_iters": args.crf_iters, "crf_backend": args.crf_backend})
    if not 0.0 <= cfg.bg_threshold <= 1.0:
        raise UserError(f"--bg-threshold must be in [0, 1], got {cfg.bg_threshold}")
    model, _ = _load_model(args, "classifier")
    ds = VOCBoxes(root, cfg.split)
    out = Path(args.output_dir) if args.output_dir else root / "Generation"
    gt = None
    if args.eval:
        seg = VOCSegmentation(root, cfg.split)
        gt = seg.mask
    res = pseudo_label_dataset(model, ds, out, cfg, resume=not args.overwrite, device=_device(args),
                               quiet=args.quiet or None, evaluate_with=gt)
    cli.emit(res, args, name="pseudo_label_metrics.json")
    return 0


def cmd_train_seg(args: argparse.Namespace) -> int:
    from bap.config import SegConfig
    from bap.data import VOCPseudoLabels
    from bap.engine.train import train_segmentation

    _threads(args)
    cfg = cli.resolve_config(SegConfig, args, explicit={
        "arch": args.arch, "loss": args.loss, "temperature": args.temperature, "gamma": args.gamma, "lam": args.lam,
        "iters": args.iters, "batch_size": args.batch_size, "lr": args.lr, "backbone": args.backbone,
        "seed": args.seed, "split": args.split, "crf_dir": args.crf_dir, "ret_dir": args.ret_dir,
        "backbone_weights": args.backbone_weights and str(args.backbone_weights), "amp": args.amp, "beta": args.beta,
        "gt_mask_list": args.gt_mask_list and str(args.gt_mask_list)})
    if not 0.0 <= cfg.beta <= 1.0:
        raise UserError(f"--beta must be in [0, 1], got {cfg.beta}")
    gt_ids = None
    if cfg.gt_mask_list:
        f = Path(cfg.gt_mask_list)
        if not f.is_file():
            raise UserError(f"GT-mask list not found: {f}")
        gt_ids = [ln.strip() for ln in f.read_text().splitlines() if ln.strip()]
    ds = VOCPseudoLabels(_need_root(args), cfg.split, cfg.crf_dir, cfg.ret_dir, gt_mask_ids=gt_ids)
    out = Path(args.output_dir or "runs/stage3")
    res = train_segmentation(cfg, ds, out, device=_device(args), resume=args.resume, quiet=args.quiet or None)
    cli.emit(res, args, name="train_metrics.json")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from bap.crf import VGG_EVAL_CRF
    from bap.data import VOCSegmentation
    from bap.engine.generate import write_label_png
    from bap.inference import EVAL_SCALES, predict
    from bap.metrics import SegmentationEvaluator
    from cvcore.progress import progress

    _threads(args)
    model, cfg = _load_model(args, "segmenter")
    ds = VOCSegmentation(_need_root(args), args.split)
    crf = _crf_params(args.crf_params, VGG_EVAL_CRF) if args.crf else None
    ev = SegmentationEvaluator(cfg.num_classes, miou_mode=args.miou_mode)
    scales = EVAL_SCALES if args.msf else (1.0,)
    for i in progress(range(len(ds)), total=len(ds), desc="eval", quiet=args.quiet or None):
        item = ds[i]
        pred = predict(model, item["image"], scales=scales, flip=args.msf, crf=crf, temperature=cfg.temperature,
                       crf_backend=args.crf_backend, device=_device(args))
        ev.update(pred, item["mask"])
        if args.save_pred:
            write_label_png(Path(args.save_pred) / f"{item['id']}.png", pred)
    cli.emit(ev.compute(), args)
    return 0


def cmd_eval_labels(args: argparse.Namespace) -> int:
    from bap.data import VOCSegmentation
    from bap.engine.generate import evaluate_label_dir

    if not Path(args.pred_dir).is_dir():
        raise DataError(f"label folder not found: {args.pred_dir}")
    cli.emit(evaluate_label_dir(Path(args.pred_dir), VOCSegmentation(_need_root(args), args.split), args.miou_mode), args)
    return 0


def cmd_eval_coco(args: argparse.Namespace) -> int:
    from bap.coco_mask_ap import evaluate_coco_pseudo_labels

    ann = args.annotations or (_need_root(args) / "annotations" / f"instances_{args.split}.json")
    cli.emit(evaluate_coco_pseudo_labels(ann, args.pred_dir), args, name="coco_mask_ap.json")
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    from bap.crf import VGG_EVAL_CRF
    from bap.engine.generate import write_label_png
    from bap.inference import EVAL_SCALES, predict
    from cvcore.data import read_image
    from cvcore.viz import overlay_mask, save_png

    _threads(args)
    model, cfg = _load_model(args, "segmenter")
    images = [read_image(p) for p in args.images]  # read all first: a bad file writes nothing
    out = Path(args.output_dir or "predictions")
    written = []
    for p, img in zip(args.images, images):
        pred = predict(model, img, scales=EVAL_SCALES if args.msf else (1.0,), flip=args.msf,
                       crf=VGG_EVAL_CRF if args.crf else None, temperature=cfg.temperature, device=_device(args))
        stem = Path(p).stem
        write_label_png(out / f"{stem}.png", pred)
        save_png(out / f"{stem}_overlay.png", overlay_mask(img, pred))
        written.append(str(out / f"{stem}.png"))
    cli.emit({"written": written}, None)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from bap.engine.demo import DemoSettings, run_demo

    _threads(args)
    st = DemoSettings.quick() if args.quick else DemoSettings()
    if args.seed is not None:
        st.seed = args.seed
    st.box_margin = args.box_margin
    res = run_demo(Path(args.output_dir or "bap_demo"), st, device=_device(args), quiet=args.quiet or None)
    pl, seg = res["pseudo_label_miou"], res["segmentation_miou"]
    import sys

    print("pseudo-label mIoU (train): box filling {:.1f} | GAP w/o CRF {:.1f} | GAP+CRF {:.1f} | BAP w/o CRF {:.1f} | "
          "BAP Y_crf {:.1f} | BAP Y_ret {:.1f}".format(
              *(100 * pl[k] for k in ("box", "gap_nocrf", "gap_crf", "bap_nocrf", "bap_crf", "bap_ret"))), file=sys.stderr)
    for stage, key in (("without CRF", "without_crf"), ("with CRF", "with_crf")):
        if not res["bap_beats_gap"][key]:
            print(f"note: BAP does not beat GAP {stage} in this run; on the synthetic set with tight boxes the "
                  "difference is within seed-to-seed variation (README, demo table)", file=sys.stderr)
    print("segmentation mIoU (held out): NAL {:.1f} | CE on Y_crf {:.1f}".format(100 * seg["nal"], 100 * seg["ce-crf"]),
          file=sys.stderr)
    cli.emit(res, args, name="demo_metrics.json")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    import torch

    model, cfg = _load_model(args, "segmenter")
    size = args.size
    out = Path(args.output_dir or ".") / "bap_segmenter.pt2"
    example = (torch.zeros(1, 3, size, size),)
    try:
        prog = torch.export.export(model.eval(), example)
    except Exception as exc:  # torch.export failures are a user-facing message, not a traceback
        raise UserError(f"torch.export failed: {str(exc).splitlines()[0]}") from exc
    from cvcore.io import atomic_write_with

    atomic_write_with(out, lambda f: torch.export.save(prog, f))
    cli.emit({"exported": str(out), "input": [1, 3, size, size], "output": "cosine logits (1, C, H, W)"}, None)
    return 0


# ----------------------------------------------------------------------------------------------- parser
def _floats5(p: argparse.ArgumentParser, flag: str, help: str) -> None:
    p.add_argument(flag, type=float, nargs=5, metavar=("W_B", "XY_B", "RGB_B", "W_G", "XY_G"), default=None, help=help)


def build_parser() -> cli.Parser:
    parser = cli.make_parser("bap", version=__version__, description="BANA: background-aware pooling and noise-aware "
                             "loss for box-supervised semantic segmentation (CVPR 2021)")
    p = cli.add_command(parser, "make-bg-masks", cmd_make_bg_masks, help="write BgMaskfromBoxes/ from box annotations")
    p.add_argument("--split", default="train_aug")
    p.add_argument("--dataset", choices=("voc", "coco"), default="voc")
    p.add_argument("--annotations", type=Path, default=None, help="COCO instances JSON")

    p = cli.add_command(parser, "train-classifier", cmd_train_classifier, help="stage 1: classifier with BAP",
                        aliases=["train"])
    p.add_argument("--split", default=None)
    p.add_argument("--pooling", choices=("bap", "gap"), default=None)
    p.add_argument("--backbone", choices=("vgg16", "tiny"), default=None)
    p.add_argument("--grid-size", type=int, default=None)
    p.add_argument("--bins", type=int, nargs=2, default=None)
    p.add_argument("--iters", type=int, default=None)
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--lr", type=float, default=None)
    p.add_argument("--milestones", type=int, nargs="+", default=None)
    p.add_argument("--backbone-weights", type=Path, default=None, help="e.g. weights/vgg_caffe.pth")
    p.add_argument("--resume", type=Path, default=None, help="checkpoint to continue from")
    p.add_argument("--amp", action="store_true", default=None,
                   help="mixed precision: bfloat16 autocast on CPU, float16 + GradScaler on CUDA")

    p = cli.add_command(parser, "pseudo-label", cmd_pseudo_label, help="stage 2: write Y_crf / Y_ret label PNGs")
    p.add_argument("--split", default=None)
    p.add_argument("--official", choices=OFFICIAL_KINDS, default=None, help="--weights is an official checkpoint")
    p.add_argument("--bg-threshold", type=float, default=None)
    _floats5(p, "--crf", "CRF parameters (default 4 55 3 3 3)")
    p.add_argument("--crf-iters", type=int, default=None)
    p.add_argument("--crf-backend", choices=("lattice", "exact", "pydensecrf"), default=None)
    p.add_argument("--overwrite", action="store_true", help="regenerate existing label files")
    p.add_argument("--eval", action="store_true", help="also report mIoU against SegmentationClassAug")

    p = cli.add_command(parser, "train-seg", cmd_train_seg, help="stage 3: DeepLab with the noise-aware loss")
    p.add_argument("--arch", choices=("largefov", "deeplabv2"), default=None)
    p.add_argument("--backbone", choices=("vgg16", "tiny"), default=None)
    p.add_argument("--loss", choices=("nal", "ce-crf", "ce-ret", "baseline", "entropy", "bootstrap"), default=None,
                   help="entropy / bootstrap: Table 3 baselines on the unreliable set (not official)")
    p.add_argument("--beta", type=float, default=None, help="bootstrapping target weight (default 0.95)")
    p.add_argument("--gt-mask-list", type=Path, default=None,
                   help="semi-supervised: file of ids whose SegmentationClassAug mask replaces Y_crf/Y_ret")
    p.add_argument("--temperature", type=float, default=None)
    p.add_argument("--gamma", type=float, default=None)
    p.add_argument("--lam", type=float, default=None)
    p.add_argument("--iters", type=int, default=None)
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--lr", type=float, default=None)
    p.add_argument("--split", default=None)
    p.add_argument("--crf-dir", default=None, help="default Generation/Ycrf")
    p.add_argument("--ret-dir", default=None, help="default Generation/Yret")
    p.add_argument("--backbone-weights", type=Path, default=None)
    p.add_argument("--resume", type=Path, default=None)
    p.add_argument("--amp", action="store_true", default=None,
                   help="mixed precision: bfloat16 autocast on CPU, float16 + GradScaler on CUDA")

    p = cli.add_command(parser, "eval", cmd_eval, help="segmentation mIoU on VOC val (multi-scale + flip + CRF)")
    p.add_argument("--split", default="val")
    p.add_argument("--official", choices=OFFICIAL_KINDS[1:], default=None)
    p.add_argument("--msf", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--crf", action=argparse.BooleanOptionalAction, default=True)
    _floats5(p, "--crf-params", "CRF parameters (default 4 121 5 3 3)")
    p.add_argument("--crf-backend", choices=("lattice", "exact", "pydensecrf"), default="lattice")
    p.add_argument("--save-pred", type=Path, default=None)
    p.add_argument("--miou-mode", choices=("official", "standard", "gt"), default="official")

    p = cli.add_command(parser, "eval-labels", cmd_eval_labels, help="mIoU of a folder of label PNGs vs ground truth")
    p.add_argument("--pred-dir", type=Path, required=True)
    p.add_argument("--split", default="val")
    p.add_argument("--miou-mode", choices=("official", "standard", "gt"), default="official")

    p = cli.add_command(parser, "eval-coco", cmd_eval_coco,
                        help="COCO mask AP (AP, AP50, AP75, AP_S/M/L) of pseudo-label PNGs, one instance per box")
    p.add_argument("--pred-dir", type=Path, required=True, help="label PNGs named like the COCO image files")
    p.add_argument("--annotations", type=Path, default=None, help="default <data-root>/annotations/instances_<split>.json")
    p.add_argument("--split", default="train2017")

    p = cli.add_command(parser, "predict", cmd_predict, help="segment images: label PNG + colour overlay",
                        aliases=["segment"])
    p.add_argument("images", nargs="+", type=Path)
    p.add_argument("--official", choices=OFFICIAL_KINDS[1:], default=None)
    p.add_argument("--msf", action=argparse.BooleanOptionalAction, default=False)
    p.add_argument("--crf", action=argparse.BooleanOptionalAction, default=True)

    p = cli.add_command(parser, "demo", cmd_demo, help="stages 1-3 on synthetic boxes (no download, ~2 min CPU)")
    p.add_argument("--quick", action="store_true", help="a few iterations only (smoke test)")
    p.add_argument("--box-margin", type=int, default=0,
                   help="pixels added around the tight boxes (loose boxes; default 0 = tight)")

    p = cli.add_command(parser, "export", cmd_export, help="torch.export program of the segmentation network")
    p.add_argument("--official", choices=OFFICIAL_KINDS[1:], default=None)
    p.add_argument("--size", type=int, default=321, help="input height = width of the exported program")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run(build_parser(), argv)
