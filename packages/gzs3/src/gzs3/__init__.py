"""JoEm: exploiting a joint embedding space for generalized zero-shot semantic segmentation (ICCV 2021) in PyTorch.

Public names are imported lazily (importing ``gzs3`` does not import torch).
"""

from importlib.metadata import version as _version

from cvcore.lazy import lazy_exports

__version__ = _version("gzs3")

_EXPORTS = {
    "JointEmbeddingModel": "gzs3.joint_embedding",
    "InferenceModule": "gzs3.joint_embedding",
    "squared_distances": "gzs3.distances",
    "apollonius_calibration": "gzs3.calibration",
    "apollonius_sphere": "gzs3.calibration",
    "calibrated_stacking": "gzs3.calibration",
    "nearest_prototype": "gzs3.calibration",
    "BoundaryAwareRegression": "gzs3.losses",
    "SemanticConsistency": "gzs3.losses",
    "JoEmLoss": "gzs3.losses",
    "GZSEvaluator": "gzs3.metrics",
    "load_table": "gzs3.embeddings",
    "embed_names": "gzs3.embeddings",
    "unseen_classes": "gzs3.splits",
    "seen_classes": "gzs3.splits",
    "load_official_checkpoint": "gzs3.checkpoints",
    "load_trained": "gzs3.checkpoints",
}

__all__ = ["__version__", *sorted(_EXPORTS)]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
