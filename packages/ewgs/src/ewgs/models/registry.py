"""Name → constructor registry of the EWGS models (``ewgs.models.get("resnet20", w_bits=1)``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import nn

from ewgs.errors import ConfigError

__all__ = ["get", "names"]


def _table() -> dict[str, Callable[..., nn.Module]]:
    import functools

    from ewgs.models.mobilenet_v2 import mobilenet_v2
    from ewgs.models.resnet_cifar import resnet20, resnet20_fp
    from ewgs.models.resnet_imagenet import resnet18, resnet34
    from ewgs.models.small import small_net

    return {"resnet20": resnet20, "resnet20_fp": resnet20_fp, "resnet18": resnet18, "resnet34": resnet34,
            "mobilenet_v2": mobilenet_v2,  # PROFIT's variant (§4.3)
            "mobilenet_v2_tv": functools.partial(mobilenet_v2, variant="torchvision"), "small": small_net}


def names() -> list[str]:
    """Registered model names."""
    return sorted(_table())


def get(name: str, **kw: Any) -> nn.Module:
    """Build model ``name`` with keyword arguments ``kw`` (``w_bits``, ``a_bits``, ``num_classes``, ...)."""
    table = _table()
    if name not in table:
        raise ConfigError(f"unknown model {name!r} (known: {', '.join(sorted(table))})")
    return table[name](**kw)
