"""Relation network for person re-identification (Park & Ham, AAAI 2020) in PyTorch.

Public API (imported lazily so that ``import reid_relation`` stays cheap)::

    from reid_relation import RelationNet, RelationLoss
    model = RelationNet(num_classes=751)               # ResNet-50, last stride 1, partitions 6/4/2
    out = model(torch.randn(4, 3, 384, 128))           # out.features: 15 x (4, 256); out.logits: 45
    desc = model.embed(images)                         # (B, 3840), flip TTA, L2-normalised

Shared re-ID code (data sets, samplers, metrics, re-ranking) lives in :mod:`cvcore.reid`.
"""

from __future__ import annotations

from importlib.metadata import version as _version

from cvcore.lazy import lazy_exports

__version__ = _version("reid-relation")

_EXPORTS = {
    "RelationNet": "model", "RelationOutput": "model", "RelationEmbedder": "model", "PartsView": "model",
    "OneVsRestRelation": "relation_module", "GlobalContrastivePooling": "global_contrastive_pooling",
    "contrastive_feature": "global_contrastive_pooling", "stripe_max_pool": "stripes", "rest_average": "stripes",
    "RelationLoss": "losses", "Trainer": "train", "lr_at_epoch": "train", "evaluate": "evaluate",
    "extract": "evaluate", "load_official_checkpoint": "official", "OpenReIDLayout": "openreid_layout",
    "TrainConfig": "config", "EvalConfig": "config", "run_demo": "demo",
}

__all__ = ["__version__", *sorted(_EXPORTS)]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
