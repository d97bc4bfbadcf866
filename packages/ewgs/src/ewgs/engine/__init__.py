"""Training/evaluation engine of ``ewgs train`` / ``ewgs eval``."""

from ewgs.engine.evaluate import evaluate
from ewgs.engine.optim import Optimizers, build_optimizers
from ewgs.engine.train import build_model, train

__all__ = ["Optimizers", "build_model", "build_optimizers", "evaluate", "train"]
