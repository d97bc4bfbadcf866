"""Training and evaluation loops."""

from mnad.engine.evaluate import EvalResult, FrameTable, evaluate, load_model
from mnad.engine.train import TrainResult, build_from_config, train

__all__ = ["EvalResult", "FrameTable", "TrainResult", "build_from_config", "evaluate", "load_model", "train"]
