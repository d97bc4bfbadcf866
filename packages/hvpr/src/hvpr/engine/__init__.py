"""Training engine: one-cycle AdamW (E35–E36), batching, the training loop and KITTI evaluation."""

from hvpr.engine.optim import OneCycleSchedule, make_optimizer, optimizer_step

__all__ = ["OneCycleSchedule", "TrainResult", "evaluate", "make_optimizer", "model_batch", "optimizer_step",
           "predict_dataset", "train"]

_LAZY = {"TrainResult": "hvpr.engine.train", "train": "hvpr.engine.train", "evaluate": "hvpr.engine.evaluate",
         "predict_dataset": "hvpr.engine.evaluate", "model_batch": "hvpr.engine.batching"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'hvpr.engine' has no attribute {name!r}")
