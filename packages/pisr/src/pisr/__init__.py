"""PISR: learning with privileged information for efficient image super-resolution (ECCV 2020) in PyTorch.

Heavy modules are imported lazily, so ``import pisr`` stays cheap.
"""

from __future__ import annotations

from importlib.metadata import version as _version

from cvcore.lazy import lazy_exports

__version__ = _version("pisr")

_EXPORTS = {
    "FSRCNN": "pisr.models",
    "PISREncoder": "pisr.models",
    "PISRTeacher": "pisr.models",
    "PISRStudent": "pisr.models",
    "VarianceHead": "pisr.models",
    "TeacherOutput": "pisr.models",
    "StudentOutput": "pisr.models",
    "init_student_from_teacher": "pisr.models",
    "TrainConfig": "pisr.config",
    "train_teacher": "pisr.engine",
    "distill": "pisr.engine",
    "train_baseline": "pisr.engine",
    "load_official_checkpoint": "pisr.official",
    "upscale": "pisr.inference",
    "load_fsrcnn": "pisr.weights",
    "load_model": "pisr.weights",
    "save_fsrcnn": "pisr.weights",
    "default_weights_path": "pisr.weights",
}

__all__ = ["__version__", *_EXPORTS]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
