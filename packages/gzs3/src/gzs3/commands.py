"""Implementations of the ``gzs3`` sub-commands (parsing lives in :mod:`gzs3.cli`)."""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path
from typing import Any

import numpy as np

from cvcore import cli
from cvcore.errors import ConfigError, UserError

__all__ = ["run_convert_context", "run_embed_classes", "run_eval", "run_export", "run_predict", "run_train"]


def _weights(args: argparse.Namespace) -> Path | None:
    return getattr(args, "checkpoint", None) or getattr(args, "weights", None)


def _summary(name: str, scores: dict[str, Any]) -> str:
    m = scores["miou"]
    return f"{name}: mIoU seen {100 * m['seen']:.2f} | unseen {100 * m['unseen']:.2f} | harmonic {100 * m['harmonic']:.2f}"



def run_train(args: argparse.Namespace) -> int:
    from gzs3.config import TrainConfig, preset_path
    from gzs3.engine import train

    if args.preset:
        if args.config is not None:
            raise ConfigError("give either --preset or --config, not both")
        try:
            args.config = preset_path(args.preset)
        except FileNotFoundError as exc:
            raise ConfigError(str(exc)) from exc
    explicit = {
        "data.dataset": args.dataset, "data.n_unseen": args.n_unseen, "data.split_protocol": args.split_protocol,
        "data.setting": args.setting,
        "data.embeddings": args.embeddings, "data.root": args.data_root, "data.crop": args.crop,
        "data.sbd_root": args.sbd_root,
        "model.arch": args.arch, "model.backbone": args.backbone, "model.backbone_weights": args.backbone_weights,
        "optim.epochs": args.epochs, "optim.batch_size": args.batch_size, "optim.lr": args.lr,
        "optim.gen_lr": args.gen_lr, "optim.weight_decay": args.weight_decay, "loss.ratio": args.ratio,
        "loss.temperature": args.temperature, "loss.alpha": args.alpha, "loss.sc_reduction": args.sc_reduction,
        "seed": args.seed,
    }
    cfg = cli.resolve_config(TrainConfig, args, explicit=explicit)
    if args.no_eval:
        cfg.eval_at_end = False
    if args.amp:
        cfg.amp = True
    out = args.output_dir or Path("gzs3_run")
    from cvcore import distributed

    try:
        result = train(cfg, out, resume=args.resume, device=args.device, num_workers=args.num_workers,
                       verbose=bool(args.verbose))
    finally:
        distributed_rank = distributed.get_rank()
        distributed.cleanup()
    if distributed_rank != 0:  # under torchrun only rank 0 reports
        return 0
    report: dict[str, Any] = {"checkpoint": result["checkpoint"], "epochs": result["epochs"],
                              "final_loss": result["losses"][-1] if result["losses"] else None,
                              "world_size": result["world_size"]}
    if result["world_size"] > 1:
        report["ddp_max_param_diff"] = result["ddp_max_param_diff"]
    if result["metrics"] is not None:
        report["metrics"] = result["metrics"]
        for k, v in result["metrics"].items():
            if isinstance(v, dict):
                print(_summary(k, v), file=sys.stderr)
    cli.emit(report, argparse.Namespace(output_dir=out))
    return 0


def _eval_model(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from cvcore.config import apply_overrides
    from gzs3.checkpoints import load_official_checkpoint, load_trained
    from gzs3.config import TrainConfig
    from gzs3.engine.builders import build_class_setup

    ckpt = _weights(args)
    if args.official is not None:
        if ckpt is not None:
            raise ConfigError("give either --weights/--checkpoint or --official FE GEN, not both")
        cfg = cli.resolve_config(TrainConfig, args, explicit={
            "data.dataset": args.dataset, "data.n_unseen": args.n_unseen, "data.split_protocol": args.split_protocol,
            "data.setting": args.setting, "data.embeddings": args.embeddings, "data.root": args.data_root})
        setup = build_class_setup(cfg)
        model = load_official_checkpoint(args.official[0], args.official[1], setup.table, setup.unseen, setup.names)
        model.excluded = list(setup.excluded)  # SPNet setting: background never predicted
        return model, cfg
    if ckpt is None:
        raise ConfigError("eval needs --weights CKPT (from gzs3 train) or --official FE GEN")
    model, cfg, _ = load_trained(ckpt)
    sets = [f"data.root={cli._toml_literal(str(args.data_root))}"] if args.data_root else []
    cfg = apply_overrides(cfg, list(args.set or []) + sets)
    return model, cfg


def run_eval(args: argparse.Namespace) -> int:
    from cvcore.distributed import resolve_device
    from cvcore.io import atomic_write_bytes
    from gzs3.engine import Decision, evaluate
    from gzs3.engine.builders import ClassSetup, build_datasets

    model, cfg = _eval_model(args)
    device = resolve_device(args.device)
    model.to(device)
    e = cfg.eval
    cal = args.calibration or e.calibration
    sigma = args.sigma if args.sigma is not None else e.sigma
    gamma = args.gamma if args.gamma is not None else e.gamma
    mode = args.ac_mode or e.mode
    decisions = [Decision(cal, cal, sigma, gamma, mode)]
    if cal != "none":
        decisions.append(Decision("none", "none"))
    if args.sigma_sweep:
        a, b, s = args.sigma_sweep
        n = int(round((b - a) / s)) + 1
        decisions += [Decision(f"sigma={a + i * s:.4g}", "apollonius", a + i * s, 0.0, mode) for i in range(n)]
    setup = ClassSetup(model.class_embeddings, model.class_names, model.seen, model.unseen)
    _, val = build_datasets(cfg, setup, train=False, val=True)
    if args.max_images:
        val = _Subset(val, args.max_images)
    save = None
    if args.save_pred is not None:
        from PIL import Image

        from cvcore.viz import voc_palette

        folder = Path(args.save_pred)
        pal = voc_palette().ravel().tolist()

        def save(i: int, pred: Any) -> None:
            im = Image.fromarray(pred.numpy().astype(np.uint8), mode="P")
            im.putpalette(pal)
            buf = io.BytesIO()
            im.save(buf, format="PNG")
            atomic_write_bytes(folder / f"{i:05d}.png", buf.getvalue())

    result = evaluate(model, val, decisions, device=device, nan_mode=args.nan_mode or e.nan_mode, save_pred=save)
    for k, v in result.items():
        if isinstance(v, dict):
            print(_summary(k, v), file=sys.stderr)
    result["seen"], result["unseen"] = model.seen, model.unseen
    cli.emit(result, args)
    return 0


class _Subset:
    def __init__(self, ds: Any, n: int) -> None:
        self.ds, self.n = ds, min(n, len(ds))

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> Any:
        return self.ds[i]


def _class_list(model: Any, args: argparse.Namespace):  # type: ignore[no-untyped-def]
    """A model restricted/extended to ``--classes`` (sharing the trained encoders)."""
    import torch

    from gzs3.embeddings import embed_names, load_table, normalize_table, read_word_vectors, words_needed
    from gzs3.joint_embedding import JointEmbeddingModel

    names = [n.strip() for n in args.classes.split(",") if n.strip()]
    if not names:
        raise UserError("--classes is empty: give comma-separated names, e.g. \"background,cat,dog\"")
    if len(set(names)) != len(names):
        raise UserError("--classes lists a name twice")
    if args.embeddings is not None:
        table = load_table(args.embeddings)
        if table.shape[0] != len(names):
            raise UserError(f"{args.embeddings} has {table.shape[0]} rows for {len(names)} --classes names")
    elif args.word_vectors is not None:
        try:
            wv = read_word_vectors(args.word_vectors, words=words_needed(names, args.phrases))
            table = normalize_table(embed_names(names, wv, phrases=args.phrases), "max")
        except KeyError as exc:
            raise UserError(f"{args.word_vectors}: {exc.args[0]}") from exc
    else:
        known = {n: i for i, n in enumerate(model.class_names)}
        missing = [n for n in names if n not in known]
        if missing:
            raise UserError(f"unknown classes {missing} (the model knows {model.class_names}); "
                            "give --word-vectors FILE or --embeddings PATH to add new ones")
        table = model.class_embeddings[[known[n] for n in names]]
    if table.shape[1] != model.class_embeddings.shape[1]:
        raise UserError(f"class vectors have {table.shape[1]} dims, the model expects {model.class_embeddings.shape[1]}")
    seen_names = {model.class_names[i] for i in model.seen}
    unseen = [i for i, n in enumerate(names) if n not in seen_names]
    return JointEmbeddingModel(model.visual, model.semantic, torch.as_tensor(table), unseen, names).eval()


def run_predict(args: argparse.Namespace) -> int:
    import torch
    from PIL import Image

    from cvcore.data import read_image
    from cvcore.distributed import resolve_device
    from cvcore.io import atomic_write_bytes
    from cvcore.viz import save_png, voc_palette
    from gzs3.checkpoints import load_trained
    from gzs3.data.transforms import normalize
    from gzs3.visualize import overlay

    ckpt = _weights(args)
    if ckpt is None:
        raise ConfigError("predict needs --weights CKPT (from gzs3 train)")
    if args.output_dir is None:
        raise ConfigError("predict needs --output-dir DIR for the label and overlay PNGs")
    images = [read_image(p, "RGB") for p in args.images]  # all inputs checked before anything is written
    device = resolve_device(args.device)
    model, cfg, _ = load_trained(ckpt, device)
    if args.classes:
        model = _class_list(model, args).to(device)
    e = cfg.eval
    cal = args.calibration or e.calibration
    sigma = args.sigma if args.sigma is not None else e.sigma
    gamma = args.gamma if args.gamma is not None else e.gamma
    out = Path(args.output_dir)
    pal = voc_palette().ravel().tolist()
    report: dict[str, Any] = {"classes": model.class_names, "unseen": model.unseen, "images": []}
    for path, img in zip(args.images, images):
        with torch.no_grad():
            pred = model.predict(normalize(img)[None].to(device), sigma, cal, gamma, args.ac_mode or e.mode)[0].cpu().numpy()
        im = Image.fromarray(pred.astype(np.uint8), mode="P")
        im.putpalette(pal)
        buf = io.BytesIO()
        im.save(buf, format="PNG")
        atomic_write_bytes(out / f"{path.stem}_labels.png", buf.getvalue())
        save_png(out / f"{path.stem}_overlay.png", overlay(img, pred, model.unseen))
        ids, counts = np.unique(pred, return_counts=True)
        report["images"].append({"image": str(path), "labels": str(out / f"{path.stem}_labels.png"),
                                 "fractions": {model.class_names[int(i)]: float(c / pred.size) for i, c in zip(ids, counts)}})
    cli.emit(report, argparse.Namespace(output_dir=None))
    return 0


def run_export(args: argparse.Namespace) -> int:
    import torch

    from cvcore.io import atomic_write_with
    from gzs3.checkpoints import load_trained
    from gzs3.joint_embedding import InferenceModule

    ckpt = _weights(args)
    if ckpt is None:
        raise ConfigError("export needs --weights CKPT (from gzs3 train)")
    if args.output_dir is None:
        raise ConfigError("export needs --output-dir DIR")
    model, cfg, _ = load_trained(ckpt)
    e = cfg.eval
    module = InferenceModule(model, args.calibration or e.calibration, args.sigma if args.sigma is not None else e.sigma,
                             args.gamma if args.gamma is not None else e.gamma).eval()
    example = torch.zeros(1, 3, args.height, args.width)
    program = torch.export.export(module, (example,))
    path = Path(args.output_dir) / "gzs3_inference.pt2"
    atomic_write_with(path, lambda f: torch.export.save(program, f))
    cli.emit({"program": str(path), "input": [1, 3, args.height, args.width], "output": [1, args.height, args.width],
              "classes": model.class_names, "calibration": module.calibration, "sigma": module.sigma}, args,
             name="export.json")
    return 0


def run_embed_classes(args: argparse.Namespace) -> int:
    from cvcore.errors import DataError
    from cvcore.io import atomic_write_with
    from gzs3.embeddings import embed_names, normalize_table, read_word_vectors, words_needed

    if not args.names.is_file():
        raise DataError(f"class-name file not found: {args.names}")
    names = [n.strip() for n in args.names.read_text(encoding="utf-8").splitlines() if n.strip()]
    if not names:
        raise DataError(f"{args.names} lists no class names")
    vocab = None
    if args.vocab is not None:
        if not args.vocab.is_file():
            raise DataError(f"vocabulary file not found: {args.vocab}")
        vocab = [w.strip() for w in args.vocab.read_text(encoding="utf-8").splitlines()]
    try:
        wv = read_word_vectors(args.word_vectors, vocab, words=words_needed(names, args.phrases))
        table = embed_names(names, wv, phrases=args.phrases)
    except KeyError as exc:
        raise UserError(f"{args.word_vectors}: {exc.args[0]}") from exc
    table = normalize_table(table, None if args.normalize == "none" else args.normalize)
    if args.out.suffix != ".npy":
        raise ConfigError(f"--out must end in .npy, got {args.out}")
    atomic_write_with(args.out, lambda f: np.save(f, table.numpy()))
    cli.emit({"table": str(args.out), "shape": list(table.shape), "names": names}, argparse.Namespace(output_dir=None))
    return 0


def run_convert_context(args: argparse.Namespace) -> int:
    import torch

    from gzs3.data import convert_context_mat

    if args.out.suffix not in (".pth", ".pt"):
        raise ConfigError(f"--out must end in .pth (a torch.save'd dict), got {args.out}")
    labels = convert_context_mat(args.trainval, args.labels, args.out)
    counts = torch.zeros(60, dtype=torch.long)
    for lab in labels.values():
        counts += torch.bincount(lab.flatten(), minlength=60)[:60]
    cli.emit({"labels_file": str(args.out), "images": len(labels),
              "classes_present": int((counts[1:] > 0).sum())}, argparse.Namespace(output_dir=None))
    return 0
