"""MNAD: learning memory-guided normality for anomaly detection (CVPR 2020) in PyTorch.

Public API (imported lazily, so ``import mnad`` stays cheap)::

    mnad.Memory, mnad.MNADPredictor, mnad.MNADReconstructor, mnad.load_official
    mnad.psnr, mnad.weighted_regular_score, mnad.minmax, mnad.anomaly_scores, mnad.frame_auc,
    mnad.align_labels, mnad.TrainConfig, mnad.train, mnad.evaluate, mnad.load_model
    mnad.functional, mnad.data, mnad.synthetic
"""

from __future__ import annotations

from importlib.metadata import version as _version

from cvcore.lazy import lazy_exports

__version__ = _version("mnad")

_LAZY = {
    "Memory": "mnad.memory",
    "MemoryOutput": "mnad.memory",
    "MNADPredictor": "mnad.models.networks",
    "MNADReconstructor": "mnad.models.networks",
    "ModelOutput": "mnad.models.networks",
    "build_model": "mnad.models.networks",
    "load_official": "mnad.models.official",
    "psnr": "mnad.scores",
    "weighted_regular_score": "mnad.scores",
    "minmax": "mnad.scores",
    "anomaly_scores": "mnad.scores",
    "frame_auc": "mnad.scores",
    "align_labels": "mnad.scores",
    "TrainConfig": "mnad.config",
    "train": "mnad.engine.train",
    "TrainResult": "mnad.engine.train",
    "evaluate": "mnad.engine.evaluate",
    "EvalResult": "mnad.engine.evaluate",
    "load_model": "mnad.engine.evaluate",
}
_SUBMODULES = ("functional", "data", "synthetic", "models", "engine", "scores", "memory", "config")

__all__ = ["__version__", *_LAZY, *_SUBMODULES]

__getattr__, __dir__ = lazy_exports(__name__, _LAZY, submodules=_SUBMODULES)
