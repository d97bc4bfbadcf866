"""Export of the inference model: a ``torch.export`` program (hard quantizers) plus integer codes.

``export_model`` writes into ``out_dir``:

- ``model.pt2``: ``torch.export.save`` of the eval-mode model (load with ``torch.export.load``);
- ``codes.json``: per DAQ layer the bit-widths, ``B``, the output scale ``|s|``, activation
  bounds, the weight shape and the integer weight codes ``t^`` (row-major), with the recipe
  ``weight = (2 code - B) / B`` and ``out = |s| * op(Q_A(a), weight)``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

__all__ = ["export_model", "weight_codes"]


def weight_codes(model: nn.Module) -> dict[str, Any]:
    """The ``codes.json`` content for every DAQ layer of ``model`` (see module docstring)."""
    from daq.quant.surgery import daq_layers

    layers = {}
    for name, m in daq_layers(model):
        if not m.is_quantized:
            continue
        entry: dict[str, Any] = {"type": type(m).__name__, "w_bits": m.w_bits, "a_bits": m.a_bits,
                                 "scale": float(m.scale.detach().abs())}
        if m.a_bits is not None:
            entry["a_lower"] = float(m.a_lower.detach()) if m.act_lower == "learn" else 0.0
            entry["a_upper"] = float(m.a_upper.detach())
            entry["a_levels"] = "code / B, code = round_half_down(B (clip(a, l, u) - l) / (u - l))"
        if m.w_bits is not None:
            codes, recipe = m.weight_codes()
            entry.update(recipe)
            entry["shape"] = list(codes.shape)
            entry["codes"] = codes.flatten().tolist()
        layers[name] = entry
    return {"format": "daq-codes", "version": 1, "layers": layers}


def export_model(model: nn.Module, example: torch.Tensor, out_dir: str | Path) -> dict[str, Path]:
    """Export ``model`` (switched to eval mode; must be initialised) for ``example`` ``(N, C, H, W)``.

    Returns:
        ``{"program": .../model.pt2, "codes": .../codes.json}``.
    """
    from cvcore.errors import UserError
    from cvcore.io import atomic_write_json, atomic_write_with
    from daq.quant.surgery import daq_layers

    if any(m.is_quantized and not bool(m.initialized) for _, m in daq_layers(model)):
        raise UserError("the model's quantizers are not initialised: export a trained model (--weights)")
    model.eval()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    program = torch.export.export(model, (example,))
    prog_path = atomic_write_with(out / "model.pt2", lambda f: torch.export.save(program, f))
    codes_path = atomic_write_json(out / "codes.json", weight_codes(model))
    return {"program": Path(prog_path), "codes": Path(codes_path)}
