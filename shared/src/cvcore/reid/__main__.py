"""``python -m cvcore.reid``: the spec's ``reid-common`` command (make-synthetic, eval, visrank).

    python -m cvcore.reid make-synthetic --root DIR [--seed 0] [--layout market|duke]
    python -m cvcore.reid eval --query-features q.npz --gallery-features g.npz [--metric sqeuclidean]
                               [--rerank] [--protocol market|cuhk03_classic] [--separate-cameras]
    python -m cvcore.reid visrank --query-features q.npz --gallery-features g.npz --output-dir DIR [--topk 10]

``.npz`` files hold ``features (N, D)``, ``pids (N,)``, ``camids (N,)`` and ``paths (N,)``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from cvcore import cli
from cvcore.errors import DataError

__all__ = ["main"]


def _npz(path: Path) -> dict[str, np.ndarray]:
    if not Path(path).is_file():
        raise DataError(f"feature file not found: {path}")
    try:
        z = np.load(path, allow_pickle=False)
        out = {k: z[k] for k in ("features", "pids", "camids")}
        out["paths"] = z["paths"] if "paths" in z else np.array([""] * len(out["pids"]))
    except (KeyError, ValueError, OSError) as exc:
        raise DataError(f"{path} is not a feature file with features/pids/camids[/paths] ({exc})") from exc
    if out["features"].ndim != 2 or len(out["features"]) != len(out["pids"]) or len(out["pids"]) != len(out["camids"]):
        raise DataError(f"{path}: features {out['features'].shape}, pids {out['pids'].shape} and camids "
                        f"{out['camids'].shape} do not agree")
    return out


def _make(args: argparse.Namespace) -> int:
    from cvcore.reid.synthetic import make_market_like_dataset

    man = make_market_like_dataset(args.root, seed=args.seed or 0, layout=args.layout)
    cli.emit({"root": man["root"], "counts": man["counts"]}, args, name="manifest_summary.json")
    return 0


def _dist(args: argparse.Namespace) -> tuple[np.ndarray, dict, dict]:
    from cvcore.reid.metrics import pairwise_distance

    q, g = _npz(args.query_features), _npz(args.gallery_features)
    return pairwise_distance(q["features"], g["features"], args.metric), q, g


def _eval(args: argparse.Namespace) -> int:
    from cvcore.reid.metrics import evaluate_rank, pairwise_distance
    from cvcore.reid.reranking import re_ranking

    d, q, g = _dist(args)
    kw = dict(protocol=args.protocol, separate_cameras=args.separate_cameras, seed=args.seed or 0)
    try:
        res = evaluate_rank(d, q["pids"], g["pids"], q["camids"], g["camids"], **kw).to_dict()
        if args.rerank:
            rr = re_ranking(d, pairwise_distance(q["features"], q["features"], args.metric),
                            pairwise_distance(g["features"], g["features"], args.metric))
            res["rerank"] = evaluate_rank(rr, q["pids"], g["pids"], q["camids"], g["camids"], **kw).to_dict()
    except ValueError as exc:
        raise DataError(str(exc)) from exc
    cli.emit(res, args)
    return 0


def _visrank(args: argparse.Namespace) -> int:
    from cvcore.reid.vis import visualize_ranked_results

    d, q, g = _dist(args)
    rec = lambda z: list(zip(z["paths"].tolist(), z["pids"].tolist(), z["camids"].tolist()))  # noqa: E731
    out = visualize_ranked_results(d, rec(q), rec(g), args.output_dir or Path("visrank"), topk=args.topk,
                                   max_queries=args.max_queries)
    cli.emit({"pngs": [str(p) for p in out]}, args, name="visrank.json")
    return 0


def build_parser() -> cli.Parser:
    from importlib.metadata import version

    parser = cli.make_parser("python -m cvcore.reid", version=version("cvcore"), description=__doc__.splitlines()[0])
    m = cli.add_command(parser, "make-synthetic", _make, help="write a synthetic Market-1501-style data set")
    m.add_argument("--root", type=Path, required=True)
    m.add_argument("--layout", choices=("market", "duke"), default="market")
    for name, func, hlp in (("eval", _eval, "CMC / mAP / mINP of two feature files"),
                            ("visrank", _visrank, "ranked-result PNGs of two feature files")):
        p = cli.add_command(parser, name, func, help=hlp)
        p.add_argument("--query-features", type=Path, required=True)
        p.add_argument("--gallery-features", type=Path, required=True)
        p.add_argument("--metric", choices=("sqeuclidean", "euclidean", "cosine"), default="sqeuclidean")
        if name == "eval":
            p.add_argument("--rerank", action="store_true")
            p.add_argument("--protocol", choices=("market", "cuhk03_classic"), default="market")
            p.add_argument("--separate-cameras", action="store_true")
        else:
            p.add_argument("--topk", type=int, default=10)
            p.add_argument("--max-queries", type=int, default=20)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run(build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
