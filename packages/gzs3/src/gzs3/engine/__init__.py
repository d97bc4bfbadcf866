"""Training, evaluation and optimisation."""

from gzs3.engine.evaluate import Decision, evaluate
from gzs3.engine.optim import build_optimizers, epoch_lr, set_epoch_lr
from gzs3.engine.train import JoEmStep, train

__all__ = ["Decision", "JoEmStep", "build_optimizers", "epoch_lr", "evaluate", "set_epoch_lr", "train"]
