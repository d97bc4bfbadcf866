"""BANA: background-aware pooling and noise-aware loss for box-supervised semantic segmentation (CVPR 2021).

Public API (imports are lazy, so ``import bap`` stays cheap)::

    bap.BackgroundAwarePooling, bap.grid_background_prototypes, bap.background_attention,
    bap.weighted_avg_pool2d, bap.NoiseAwareLoss, bap.entropy_regularisation_loss, bap.bootstrapping_loss,
    bap.CRFParams, bap.dense_crf,
    bap.generate_pseudo_labels, bap.pseudo_label_dataset, bap.predict,
    bap.SegmentationEvaluator, bap.load_official_checkpoint
    bap.models.{BAPClassifier, DeepLabLargeFOV, DeepLabV2ASPP}, bap.data.{VOCBoxes, ...}
"""

from importlib.metadata import version as _version

from cvcore.lazy import lazy_exports

__version__ = _version("bap")

_LAZY = {
    "BAPOutput": "bap.background_aware_pooling",
    "BackgroundAwarePooling": "bap.background_aware_pooling",
    "background_attention": "bap.background_aware_pooling",
    "grid_background_prototypes": "bap.background_aware_pooling",
    "pad_for_grid": "bap.background_aware_pooling",
    "weighted_avg_pool2d": "bap.background_aware_pooling",
    "CosineClassifier": "bap.cosine_classifier",
    "CRFParams": "bap.crf",
    "dense_crf": "bap.crf",
    "NALOutput": "bap.noise_aware_loss",
    "NoiseAwareLoss": "bap.noise_aware_loss",
    "bootstrapping_loss": "bap.unreliable_baselines",
    "entropy_regularisation_loss": "bap.unreliable_baselines",
    "PseudoLabels": "bap.pseudo_labels",
    "generate_pseudo_labels": "bap.pseudo_labels",
    "pseudo_label_dataset": "bap.engine.generate",
    "predict": "bap.inference",
    "SegmentationEvaluator": "bap.metrics",
    "load_official_checkpoint": "bap.official",
}

__all__ = ["__version__", "crf", "data", "metrics", "models", *sorted(_LAZY)]

__getattr__, __dir__ = lazy_exports(__name__, _LAZY, submodules=("crf", "data", "metrics", "models", "visualize", "engine"))
