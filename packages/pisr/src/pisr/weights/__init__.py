"""Saving and loading deployable networks, and the small default x2/x3/x4 FSRCNN weights shipped here.

``fsrcnn_x2.pt``, ``fsrcnn_x3.pt`` and ``fsrcnn_x4.pt`` are distilled PISR students: ``pisr demo --scale {s}
--teacher-iters 3000 --iters 3000 --no-baseline --save-model student --threads 1 --save-weights
src/pisr/weights/fsrcnn_x{s}.pt``.
All were trained on scikit-image's bundled BSD-licensed photographs; see the package README,
"Shipped default weights".
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path
from typing import Any

from torch import nn

from cvcore import checkpoint as ck
from cvcore.errors import CheckpointError

__all__ = ["default_weights_path", "load_model", "load_fsrcnn", "save_fsrcnn"]


def _version() -> str:
    from pisr import __version__

    return __version__


def default_weights_path(scale: int) -> Path:
    """Path of the shipped student weights for ``scale`` (2, 3 or 4)."""
    p = Path(str(resources.files("pisr") / "weights" / f"fsrcnn_x{int(scale)}.pt"))
    if not p.is_file():
        here = sorted(q.name for q in p.parent.glob("fsrcnn_x*.pt"))
        raise CheckpointError(f"no shipped default weights for x{scale} (shipped: {', '.join(here) or 'none'}); "
                              "pass --weights")
    return p


def save_fsrcnn(path: str | os.PathLike[str], model: nn.Module, *, extra: dict[str, Any] | None = None,
                config: Any = None) -> Path:
    """Write the deployable FSRCNN (heads dropped) as a small cvcore checkpoint (kind ``fsrcnn``)."""
    from pisr.models import PISRStudent

    net = model.to_fsrcnn() if isinstance(model, PISRStudent) else model
    arch = {"scale": net.scale, "d": net.d, "s": net.s, "m": net.m, "in_channels": net.in_channels}
    return ck.save_checkpoint(path, package="pisr", version=_version(), model=net, config=config,
                              extra={**(extra or {}), "kind": "fsrcnn", "arch": arch}, save_rng=False)


def _build(kind: str, arch: dict[str, Any], extra: dict[str, Any]) -> nn.Module:
    from pisr.models import FSRCNN, PISRStudent, PISRTeacher

    sc, d, s, m = int(arch["scale"]), int(arch.get("d", 56)), int(arch.get("s", 12)), int(arch.get("m", 4))
    if kind in ("fsrcnn", "baseline"):
        return FSRCNN(sc, int(arch.get("in_channels", 1)), d, s, m)
    if kind == "student":
        return PISRStudent(sc, d, s, m, distill_layers=tuple(extra.get("distill_layers", ("expanding",))),
                           variance_mode=extra.get("variance_mode", "none"))
    if kind == "teacher":
        return PISRTeacher(sc, d, s, m, int(arch.get("k", 1)))
    raise CheckpointError(f"unknown model kind {kind!r} in checkpoint")


def load_model(path: str | os.PathLike[str], *, scale: int | None = None) -> nn.Module:
    """Load any pisr checkpoint (teacher, student, baseline, fsrcnn) or an official one.

    Official files (no cvcore header) go through :func:`pisr.official.load_official_checkpoint`
    and need ``scale`` (the transposed-conv stride is not stored in the weights).
    """
    p = Path(path)
    if not p.is_file():
        raise CheckpointError(f"checkpoint not found: {p}")
    try:
        state = ck.load_checkpoint(p, package="pisr", version=_version())
    except CheckpointError as exc:
        if "not a cvcore checkpoint" not in str(exc):
            raise
        from pisr.official import load_official_checkpoint

        return load_official_checkpoint(p, kind=None, scale=scale or 2)
    extra = state.get("extra") or {}
    kind = extra.get("kind")
    arch = extra.get("arch")
    if kind is None or arch is None:
        raise CheckpointError(f"{p} has no model description (extra.kind / extra.arch)")
    model = _build(kind, arch, extra)
    ck.restore(state, model=model, rng=False)
    model.eval()
    return model


def load_fsrcnn(path: str | os.PathLike[str] | None, *, scale: int | None = None) -> nn.Module:
    """The deployable LR->HR network from ``path`` (None = shipped default for ``scale``, default 2).

    A student checkpoint gives its backbone; a teacher cannot super-resolve LR images.
    ``scale`` (when given) must match the checkpoint's.
    """
    from pisr.models import PISRStudent, PISRTeacher

    model = load_model(path if path is not None else default_weights_path(scale or 2), scale=scale)
    if isinstance(model, PISRStudent):
        model = model.to_fsrcnn()
    if isinstance(model, PISRTeacher):
        raise CheckpointError("this is a teacher checkpoint: the teacher needs the HR image; use a student or baseline")
    if path is not None and scale and model.scale != scale:
        raise CheckpointError(f"{path} upscales by x{model.scale}, but --scale {scale} was asked")
    return model.eval()


