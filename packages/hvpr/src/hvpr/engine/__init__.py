"""Training engine pieces (so far: the one-cycle schedule)."""

from hvpr.engine.optim import OneCycleSchedule

__all__ = ["OneCycleSchedule"]
