"""Training, evaluation and optimizer construction."""

from daq.engine.evaluate import evaluate
from daq.engine.optim import build_optimizers
from daq.engine.train import build_model, layer_stats, load_pretrained, load_weights, train

__all__ = ["build_model", "build_optimizers", "evaluate", "layer_stats", "load_pretrained", "load_weights", "train"]
