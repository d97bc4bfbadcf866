"""The ``reid-relation`` command: argument parsing and dispatch only (implementations in commands.py)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from cvcore import cli
from reid_relation import __version__
from reid_relation.config import DATASETS

__all__ = ["build_parser", "main"]


def _model_flags(p: cli.Parser) -> None:
    p.add_argument("--checkpoint", type=Path, help="checkpoint written by 'reid-relation train' (or --weights)")
    p.add_argument("--official", action="store_true", help="the checkpoint is the authors' released model file")
    p.add_argument("--height", type=int, help="input height (default: the checkpoint's)")
    p.add_argument("--width", type=int, help="input width (default: the checkpoint's)")
    p.add_argument("--no-flip", action="store_true", help="no horizontal-flip test-time augmentation")
    p.add_argument("--descriptor", choices=("all", "global", "local"), default="all",
                   help="15 parts (3,840-d), the 3 GCP features, or the 12 relational local features")


def _data_flags(p: cli.Parser) -> None:
    p.add_argument("--dataset", choices=DATASETS, help="data set (default: the checkpoint's)")
    p.add_argument("--root", dest="data_root", type=Path, help="alias of --data-root")
    p.add_argument("--cuhk03-layout", choices=("market", "mat"), help="CUHK03 on-disk layout (default: the checkpoint's)")
    p.add_argument("--cuhk03-protocol", choices=("new", "classic"), help="CUHK03 767/700 split or the 20 classic splits")
    p.add_argument("--cuhk03-split", type=int, help="classic CUHK03 split 0..19")


def build_parser() -> cli.Parser:
    from reid_relation import commands as c

    parser = cli.make_parser("reid-relation", version=__version__,
                             description="Relation network for person re-identification (AAAI 2020) in PyTorch")
    t = cli.add_command(parser, "train", c.cmd_train, help="train RelationNet (the paper's recipe by default)")
    _data_flags(t)
    for flag, typ in (("--height", int), ("--width", int), ("--batch-size", int), ("--num-instances", int),
                      ("--epochs", int), ("--lr", float), ("--backbone-lr", float), ("--gamma", float),
                      ("--momentum", float), ("--weight-decay", float), ("--margin", float), ("--ce-weight", float),
                      ("--label-smoothing", float), ("--holdout-val", int), ("--feat-dim", int),
                      ("--backbone-width", int), ("--max-steps", int), ("--eval-every", int)):
        t.add_argument(flag, type=typ)
    t.add_argument("--milestones", type=int, nargs="+")
    t.add_argument("--sampler", choices=("anchor", "identity", "exhaustive"))
    t.add_argument("--erasing", choices=("rrid", "zhong", "none"))
    t.add_argument("--official-erasing-offset", action="store_true", help="paste the colour patch at (w, h)")
    t.add_argument("--backbone", choices=("resnet50", "resnet18"))
    t.add_argument("--backbone-weights", metavar="none|imagenet|PATH", help="backbone initialisation")
    t.add_argument("--resume", type=Path, help="continue from a last.pt checkpoint")
    t.add_argument("--amp", action="store_true", default=None, help="mixed precision (CUDA only)")

    e = cli.add_command(parser, "eval", c.cmd_eval, help="CMC / mAP / mINP on the query and gallery splits")
    _model_flags(e)
    _data_flags(e)
    e.add_argument("--protocol", choices=("market", "cuhk03_classic"), default="market")
    e.add_argument("--separate-cameras", action="store_true", help="drop every gallery image of the query camera")
    e.add_argument("--rerank", action="store_true", help="also report k-reciprocal re-ranked metrics")
    e.add_argument("--k1", type=int, default=20)
    e.add_argument("--k2", type=int, default=6)
    e.add_argument("--lambda", dest="lambda_value", type=float, default=0.3)
    e.add_argument("--visrank", type=int, default=0, metavar="K", help="write ranked-result PNGs with top K")
    e.add_argument("--visrank-dir", type=Path)
    e.add_argument("--visrank-queries", type=int, default=20)
    e.add_argument("--json", type=Path, help="also write the metrics here")

    x = cli.add_command(parser, "extract", c.cmd_extract, help="descriptors of a folder or a split to .npz")
    _model_flags(x)
    _data_flags(x)
    x.add_argument("--images", type=Path, help="a folder of images (instead of --dataset/--split)")
    x.add_argument("--split", choices=("query", "gallery", "train"), default="query")
    x.add_argument("--out", type=Path, required=True, help="output .npz (features, pids, camids, paths)")

    s = cli.add_command(parser, "search", c.cmd_search, help="rank a gallery folder for a query image (PNG + JSON)",
                        aliases=("predict",))
    _model_flags(s)
    s.add_argument("--query", type=Path, required=True)
    s.add_argument("--gallery", type=Path, required=True)
    s.add_argument("--topk", type=int, default=10)

    d = cli.add_command(parser, "demo", _demo, help="synthetic identities, short CPU training, before/after metrics")
    d.add_argument("--steps", type=int, default=40)

    xp = cli.add_command(parser, "export", c.cmd_export, help="torch.export program of the inference descriptor")
    _model_flags(xp)
    xp.add_argument("--out", type=Path, required=True, help="output .pt2 file")
    return parser


def _demo(args) -> int:  # noqa: ANN001
    import torch

    from reid_relation.demo import run_demo

    if not args.threads:
        torch.set_num_threads(1)  # small convolutions: one thread is faster on 2-core machines
    res = run_demo(args.output_dir, steps=args.steps, seed=args.seed or 0)
    cli.emit(res, args, name="demo.json")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run(build_parser(), argv)
