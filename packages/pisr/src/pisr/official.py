"""Loading the authors' checkpoints (cvlab-yonsei/PISR) onto our modules.

Official files are ``torch.save({"state_dict", "optimizer_dict", "epoch", "step"})`` with keys

- student: ``backbone.network.<stage>.<i>.<j>.*`` and ``vid_module_dict.<layer>_{mean,var}.<j>.*``
- teacher: the same plus ``backbone.network.encoder.0.<j>.*``

(optionally prefixed by ``module.`` from ``nn.DataParallel``). ``<i>`` is the layer index inside
a stage (only ``mapping`` has more than one), ``<j>`` 0 = conv, 1 = PReLU.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Literal

import torch
from torch import nn

from cvcore.errors import CheckpointError

__all__ = ["load_official_checkpoint", "map_official_keys"]


def _backbone_key(rest: str) -> str:
    # rest = "<stage>.<i>.<j>.<param>"
    stage, i, j, param = rest.split(".", 3)
    if stage == "mapping":
        return f"mapping.{i}.{j}.{param}"
    if stage == "last_layer":
        return f"last_layer.{param}"
    if stage == "encoder":
        return f"body.{j}.{param}"
    return f"{stage}.{j}.{param}"


def map_official_keys(state: dict[str, torch.Tensor], kind: Literal["teacher", "student"]) -> dict[str, torch.Tensor]:
    """Official key names -> ours (``PISRTeacher`` / ``PISRStudent``)."""
    out: dict[str, torch.Tensor] = {}
    for key, v in state.items():
        k = key[len("module."):] if key.startswith("module.") else key
        if k.startswith("backbone.network."):
            rest = k[len("backbone.network."):]
            stage = rest.split(".", 1)[0]
            new = _backbone_key(rest)
            if kind == "teacher":
                out[("encoder." if stage == "encoder" else "decoder.") + new] = v
            else:
                if stage == "encoder":
                    raise CheckpointError("a student checkpoint cannot contain an encoder")
                out["backbone." + new] = v
        elif k.startswith("vid_module_dict."):
            m = re.match(r"vid_module_dict\.(\w+)_(mean|var)\.(\d+)\.(\w+)$", k)
            if not m:
                raise CheckpointError(f"unexpected key {key!r} in official checkpoint")
            layer, which, j, param = m.groups()
            if kind == "student":
                out[f"heads.{layer}.{which}.{j}.{param}"] = v
        else:
            raise CheckpointError(f"unexpected key {key!r}: not an official PISR checkpoint")
    return out


def load_official_checkpoint(path: str | os.PathLike[str], kind: Literal["teacher", "student"] | None,
                             *, scale: int = 2) -> nn.Module:
    """Build our model from an official ``.pth`` (``kind`` None = detect from the keys).

    ``scale`` must be given for x3/x4 files (the stride is not in the weights). Widths
    (``d``, ``s``, ``m``) and the variance mode are read from the tensor shapes.

    Raises:
        CheckpointError: missing, truncated or foreign file; keys or shapes that do not fit.
    """
    from pisr.models import PISRStudent, PISRTeacher

    p = Path(path)
    if not p.is_file():
        raise CheckpointError(f"checkpoint not found: {p}")
    try:
        raw = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is a checkpoint error
        raise CheckpointError(f"{p} is truncated or not a torch checkpoint ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})") from exc
    state = raw.get("state_dict", raw) if isinstance(raw, dict) else None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()) or not state:
        raise CheckpointError(f"{p} has no state_dict of tensors: not an official PISR checkpoint")
    keys = [k[len("module."):] if k.startswith("module.") else k for k in state]
    if kind is None:
        kind = "teacher" if any(k.startswith("backbone.network.encoder.") for k in keys) else "student"
    if kind not in ("teacher", "student"):
        raise ValueError(f"kind must be 'teacher' or 'student', got {kind!r}")
    mapped = map_official_keys(state, kind)
    pre = "decoder." if kind == "teacher" else "backbone."
    try:
        d = mapped[pre + "feature_extraction.0.weight"].shape[0]
        s = mapped[pre + "shrinking.0.weight"].shape[0]
        m = len({k.split(".")[2] for k in mapped if k.startswith(pre + "mapping.")})
    except KeyError as exc:
        raise CheckpointError(f"{p} lacks the FSRCNN layer {exc}: not an official PISR checkpoint") from exc
    if kind == "teacher":
        k_ch = mapped["decoder.feature_extraction.0.weight"].shape[1]
        model: nn.Module = PISRTeacher(scale, d, s, m, k_ch)
    else:
        layers = sorted({k.split(".")[1] for k in mapped if k.startswith("heads.")})
        mode = "none"
        if layers:
            var_w = mapped[f"heads.{layers[0]}.var.2.weight"]
            mode = "none" if var_w.shape[0] > 1 else "spatial"
        model = PISRStudent(scale, d, s, m, distill_layers=tuple(layers), variance_mode=mode)
    try:
        model.load_state_dict(mapped, strict=True)
    except RuntimeError as exc:
        raise CheckpointError(f"{p} does not fit a PISR {kind}: {str(exc).splitlines()[0]}") from exc
    return model.eval()
