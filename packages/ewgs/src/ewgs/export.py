"""``ewgs export``: a ``torch.export`` program of the eval model plus integer weight codes and scales."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import torch
from torch import nn

from cvcore.io import atomic_write_with
from ewgs.config import TrainConfig
from ewgs.quant.surgery import ewgs_layers

__all__ = ["export_model", "quantization_table", "run_export"]


def quantization_table(model: nn.Module) -> dict[str, dict[str, Any]]:
    """Per EWGS layer: integer ``codes`` (uint8, 0..B), bits, ``|α|`` and the bounds.

    Dequantized weight: ``|α|·(2·codes/B − 1)``; activation codes: ``round(B·clip((a − l_A)/(u_A − l_A)))``.
    """
    table: dict[str, dict[str, Any]] = {}
    for name, m in ewgs_layers(model):
        entry: dict[str, Any] = {"w_bits": m.w_bits, "a_bits": m.a_bits,
                                 "scale": float(m.scale.detach().abs())}  # type: ignore[attr-defined]
        if m.w_bits is not None:
            entry.update(codes=m.weight_codes(), w_lower=float(m.w_lower.detach()),  # type: ignore[attr-defined]
                         w_upper=float(m.w_upper.detach()))  # type: ignore[attr-defined]
        if m.a_bits is not None:
            entry.update(a_lower=float(m.a_lower.detach()), a_upper=float(m.a_upper.detach()))  # type: ignore[attr-defined]
        table[name] = entry
    return table


def export_model(model: nn.Module, example: torch.Tensor, out_dir: str | Path) -> dict[str, Any]:
    """Write ``model.pt2`` (``torch.export``, dynamic batch size) and ``codes.pt``; returns paths and the
    eager/export gap."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model = model.eval()
    with torch.no_grad():
        eager = model(example)
        program = torch.export.export(model, (example,), dynamic_shapes=({0: torch.export.Dim.AUTO},))
        exported = program.module()(example)
    atomic_write_with(out / "model.pt2", lambda f: torch.export.save(program, f))
    atomic_write_with(out / "codes.pt", lambda f: torch.save(quantization_table(model), f))
    return {"program": str(out / "model.pt2"), "codes": str(out / "codes.pt"),
            "max_abs_diff": float((eager - exported).abs().max()), "layers": len(quantization_table(model))}


def run_export(args: argparse.Namespace, explicit: dict[str, Any], base: TrainConfig) -> dict[str, Any]:
    from ewgs.evaluation import dataset_meta, load_model

    model, cfg = load_model(args, explicit, base)
    _, ch, size = dataset_meta(cfg, model.state_dict())
    example = torch.randn(2, ch, size, size)
    return export_model(model, example, args.output_dir or "runs/ewgs-export")
