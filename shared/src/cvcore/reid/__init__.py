"""Shared person re-identification toolkit (the spec's ``reid_common``), used by reid-relation and isgan.

Fixes, once, the data conventions and metrics both papers' numbers depend on. Submodules
(imported lazily, so ``import cvcore.reid`` is cheap):

- :mod:`~cvcore.reid.data`: ``ImageRecord``, ``parse_market_style_dir``, ``Market1501``,
  ``DukeMTMCreID``, ``CUHK03``, ``ImageDataset``, ``build_dataset``
- :mod:`~cvcore.reid.cuhk03_mat`: ``extract_cuhk03_mat`` (raw ``cuhk-03.mat``, needs the optional h5py)
- :mod:`~cvcore.reid.samplers`: ``PKSampler`` (modes identity / exhaustive / anchor), ``make_pk_loader``
- :mod:`~cvcore.reid.losses`: ``batch_hard_triplet_loss``, ``TripletLoss``, ``cross_entropy``
- :mod:`~cvcore.reid.metrics`: ``pairwise_distance``, ``evaluate_rank``, ``RankResult``, ``re_ranking``
- :mod:`~cvcore.reid.features`: ``extract_features`` (flip TTA), ``flip_augmented``
- :mod:`~cvcore.reid.transforms`: ``RandomErasing``, ``RandomColorPatch``, ``build_train_transform``,
  ``build_test_transform``
- :mod:`~cvcore.reid.vis`: ``visualize_ranked_results``
- :mod:`~cvcore.reid.synthetic`: ``make_market_like_dataset``, ``oracle_features``

Example::

    from cvcore.reid import Market1501, pairwise_distance, evaluate_rank
    ds = Market1501("/data/market")              # junk dropped, distractors kept
    dist = pairwise_distance(qf, gf, "sqeuclidean")
    res = evaluate_rank(dist, q_pids, g_pids, q_cams, g_cams)
    print(res.rank(1), res.mAP, res.mINP)
"""

from __future__ import annotations

from cvcore.lazy import lazy_exports

_EXPORTS = {
    "data": ["CUHK03", "DukeMTMCreID", "ImageDataset", "ImageRecord", "Market1501", "ReIDDataset", "build_dataset",
             "last_parse_report", "parse_market_style_dir", "relabel_records"],
    "cuhk03_mat": ["extract_cuhk03_mat"],
    "samplers": ["PKSampler", "make_pk_loader"],
    "losses": ["TripletLoss", "batch_hard_triplet_loss", "cross_entropy"],
    "metrics": ["RankResult", "evaluate_rank", "pairwise_distance"],
    "reranking": ["re_ranking"],
    "features": ["extract_features", "flip_augmented"],
    "transforms": ["RandomColorPatch", "RandomErasing", "build_test_transform", "build_train_transform"],
    "vis": ["visualize_ranked_results"],
    "synthetic": ["make_market_like_dataset", "oracle_features"],
}
_WHERE = {name: mod for mod, names in _EXPORTS.items() for name in names}

__all__ = sorted(_WHERE)
__getattr__, __dir__ = lazy_exports(__name__, _WHERE)
