"""Training engine pieces (so far: the one-cycle schedule and the E36 optimiser step)."""

from hvpr.engine.optim import OneCycleSchedule, make_optimizer, optimizer_step

__all__ = ["OneCycleSchedule", "make_optimizer", "optimizer_step"]
