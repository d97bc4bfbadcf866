"""Export of the HVPR inference network as a ``torch.export`` program (spec §12: export of the inference path).

Exported: pillar net + scale encoder → memory read (E16–E17) → scatter (E19) → AMFM backbone → head, i.e.
``(voxels (V, P, 4), num_points (V,), coords (V, 4: b, z, y, x)) -> (cls (1, N_a, n_cls), box (1, N_a, 7),
dir (1, N_a, 2))`` for one scene with a dynamic number of pillars V. Not exported (data dependent, done in
Python by :func:`run_exported`): range crop, point sampling and voxelization before, box decoding, direction fix
and rotated NMS after. The point stream is training-only and not part of it.

Files written by :func:`export_model` into ``out``: ``hvpr_inference.pt2`` (``torch.export.save``; load with
``torch.export.load``), ``config.toml`` (the model's config, for pre/post-processing) and ``export.json``.
The memory read uses ``torch.topk`` directly; it equals the eager stable top-k except when two scores tie
exactly at the k-th place (the eager model breaks such ties by the lower index).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from cvcore.errors import UserError

PROGRAM_NAME = "hvpr_inference.pt2"


class InferenceNetwork(nn.Module):
    """The exportable inference network of an :class:`hvpr.HVPR` (shares its modules and weights)."""

    def __init__(self, model: Any) -> None:
        super().__init__()
        self.vfe, self.scale_encoder, self.backbone, self.head = model.vfe, model.scale_encoder, model.backbone, \
            model.head
        self.memory = model.memory
        self.k = 0 if model.memory is None else min(model.memory.k, model.memory.weight.shape[0])
        self.ny, self.nx = model.ny, model.nx

    def _scatter(self, feats: Tensor, coords: Tensor) -> Tensor:
        flat = coords[:, 2] * self.nx + coords[:, 3]
        canvas = feats.new_zeros(self.ny * self.nx, feats.shape[1]).index_put((flat,), feats)
        return canvas.view(1, self.ny, self.nx, feats.shape[1]).permute(0, 3, 1, 2)

    def forward(self, voxels: Tensor, num_points: Tensor, coords: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        v = self.vfe(voxels, num_points, coords)
        sigma = self.scale_encoder(voxels, num_points)
        attn = self.backbone.attention(self._scatter(sigma, coords))
        if self.memory is not None:
            s = v @ self.memory.weight.T
            vals, idx = torch.topk(s, self.k, dim=1)
            eta = torch.softmax(vals, dim=1)
            v = torch.cat([v, (eta[..., None] * self.memory.weight[idx]).sum(1)], 1)
        return self.head(self.backbone(self._scatter(v, coords), attn))


def export_program(model: Any, example: dict[str, Tensor]) -> Any:
    """``torch.export`` the inference network of ``model`` (eval mode) with a dynamic pillar count."""
    net = InferenceNetwork(model).eval()
    args = (example["voxels"], example["voxel_num_points"], example["voxel_coords"])
    nv = torch.export.Dim("num_voxels", min=2, max=max(int(model.config.data.max_voxels_test), 3))
    shapes = {"voxels": {0: nv}, "num_points": {0: nv}, "coords": {0: nv}}
    try:
        return torch.export.export(net, args, dynamic_shapes=shapes)
    except Exception as exc:  # noqa: BLE001 - export failures become one-line user errors
        raise UserError(f"torch.export failed: {str(exc).splitlines()[0]}") from exc


def example_batch(model: Any, scan: Any = None, seed: int = 0) -> dict[str, Tensor]:
    """A one-scene inference batch from ``scan`` (N, 4) or, without one, from a random cloud in the range."""
    import numpy as np

    if scan is None:
        r = model.config.data.point_range
        g = np.random.default_rng(seed)
        lo, hi = np.array(r[:3] + (0.0,)), np.array(r[3:] + (1.0,))
        scan = (g.random((4096, 4)) * (hi - lo) + lo).astype(np.float32)
    return model.make_batch([torch.as_tensor(np.asarray(scan))[:, :4]], training=False, seed=seed)


def export_model(model: Any, out: str | Path, scan: Any = None, seed: int = 0) -> dict[str, Any]:
    """Export ``model``'s inference network to ``out`` (see the module docstring); checks the program against
    the eager network on the example scan and returns a summary (paths, max |Δ| of the raw outputs)."""
    from cvcore.config import save_config
    from cvcore.io import atomic_write_with

    model = model.eval()
    example = example_batch(model, scan, seed)
    if example["voxels"].shape[0] < 2:
        raise UserError("the example scan has fewer than 2 pillars inside the detection range")
    program = export_program(model, example)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    path = atomic_write_with(out / PROGRAM_NAME, lambda f: torch.export.save(program, f))
    save_config(model.config, out / "config.toml")
    with torch.no_grad():
        args = (example["voxels"], example["voxel_num_points"], example["voxel_coords"])
        eager = InferenceNetwork(model).eval()(*args)
        exported = program.module()(*args)
    diff = max(float((a - b).abs().max()) for a, b in zip(eager, exported))
    return {"program": str(path), "config": str(out / "config.toml"), "num_voxels": int(args[0].shape[0]),
            "max_abs_diff": diff}


def run_exported(program: Any, model: Any, points: Any, seed: int = 0) -> Any:
    """Detections of one raw cloud with an exported program: ``model`` (any :class:`hvpr.HVPR` built from the
    exported config) supplies voxelization, anchors, decoding and NMS."""
    batch = example_batch(model, points, seed)
    with torch.no_grad():
        cls, box, dr = program.module()(batch["voxels"], batch["voxel_num_points"], batch["voxel_coords"])
    return model.post_process(cls, box, dr)[0]
