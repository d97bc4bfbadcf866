"""Training engine."""

from pisr.engine.train import distill, train_baseline, train_teacher

__all__ = ["distill", "train_baseline", "train_teacher"]
