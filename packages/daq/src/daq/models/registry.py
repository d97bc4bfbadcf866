"""Name -> constructor registry of the DAQ models (``daq.models.get("resnet20", w_bits=1)``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import nn

__all__ = ["available", "get"]


def _table() -> dict[str, Callable[..., nn.Module]]:
    from daq.models.mobilenet_v2 import mobilenet_v2
    from daq.models.resnet_cifar import resnet20
    from daq.models.resnet_imagenet import resnet18, resnet34
    from daq.models.small import small_net

    return {"resnet20": resnet20, "resnet18": resnet18, "resnet34": resnet34,
            "mobilenet_v2": mobilenet_v2, "small_net": small_net}


def available() -> list[str]:
    """Registered model names."""
    return sorted(_table())


def get(name: str, **kwargs: Any) -> nn.Module:
    """Build model ``name`` with ``kwargs`` (``w_bits``, ``a_bits``, ``num_classes``, ...)."""
    table = _table()
    if name not in table:
        raise KeyError(f"unknown model {name!r}; available: {', '.join(sorted(table))}")
    return table[name](**kwargs)
