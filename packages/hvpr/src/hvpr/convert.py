"""Official HVPR / OpenPCDet checkpoints ↔ this package's state dicts (spec §10.2).

The official detector (``MixAnchor_Memory``, an OpenPCDet ``Detector3DTemplate``) names its modules ``vfe``
(``PillarVFE_Scale``), ``backbone_3d`` (``PointNet2MSG``), ``map_to_bev_module`` (the scatter with the
``MemoryUnit_Agg`` memory), ``backbone_2d`` (``BaseBEVBackbone_Scale``) and ``dense_head`` (``AnchorHeadSingle``).
Name mapping (official → ours):

| official | ours |
|---|---|
| ``vfe.pfn_layers.{i}.{linear,norm}.*`` | ``vfe.layers.{i}.{linear,norm}.*`` |
| ``vfe.pfn_scale_layers.{i}.{0,1}.*`` (Linear, BN) | ``scale_encoder.net.{3i, 3i+1}.*`` |
| ``backbone_3d.SA_modules.{k}.mlps.{s}.{j}.*`` | ``point_stream.sa.{k}.mlps.{s}.{j}.*`` |
| ``backbone_3d.FP_modules.{k}.mlp.{j}.*`` (k = 0 is the finest, applied last) | ``point_stream.fp.{n−1−k}.mlp.{j}.*`` |
| ``map_to_bev_module.memory.weight`` | ``memory.weight`` |
| ``backbone_2d.blocks.*`` / ``deblocks.*`` | ``backbone.blocks.*`` / ``deblocks.*`` |
| ``backbone_2d.sfmblocks_down.{l}.{j}.*`` (φ_ℓ) | ``backbone.refine.{l}.{j}.*`` |
| ``backbone_2d.scale_layers.{l}.{j}.*`` (ZeroPad2d at j = 0) | ``backbone.scale_layers.{l}.{j−1}.*`` (conv padding 1) |
| ``backbone_2d.attention.spatial.{conv,norm}.*`` | ``backbone.attention_module.{conv,bn}.*`` |
| ``dense_head.conv_{cls,box,dir_cls}.*`` | ``head.conv_{cls,box,dir_cls}.*`` |

``global_step`` (an OpenPCDet bookkeeping buffer) is dropped. No official weights were published (spec D10), so
the mapping is tested with state dicts written in the official layout by the tests.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from cvcore.errors import CheckpointError

IGNORED_OFFICIAL = ("global_step",)

_Rule = tuple[re.Pattern[str], Callable[[re.Match[str], dict[str, int]], str]]

_TO_OURS: list[_Rule] = [
    (re.compile(r"vfe\.pfn_layers\.(\d+)\.(linear|norm)\.(.+)"), lambda m, _: f"vfe.layers.{m[1]}.{m[2]}.{m[3]}"),
    (re.compile(r"vfe\.pfn_scale_layers\.(\d+)\.([01])\.(.+)"),
     lambda m, _: f"scale_encoder.net.{3 * int(m[1]) + int(m[2])}.{m[3]}"),
    (re.compile(r"backbone_3d\.SA_modules\.(\d+)\.mlps\.(\d+)\.(\d+)\.(.+)"),
     lambda m, _: f"point_stream.sa.{m[1]}.mlps.{m[2]}.{m[3]}.{m[4]}"),
    (re.compile(r"backbone_3d\.FP_modules\.(\d+)\.mlp\.(\d+)\.(.+)"),
     lambda m, n: f"point_stream.fp.{n['fp'] - 1 - int(m[1])}.mlp.{m[2]}.{m[3]}"),
    (re.compile(r"map_to_bev_module\.memory\.weight"), lambda m, _: "memory.weight"),
    (re.compile(r"backbone_2d\.(blocks|deblocks)\.(.+)"), lambda m, _: f"backbone.{m[1]}.{m[2]}"),
    (re.compile(r"backbone_2d\.sfmblocks_down\.(.+)"), lambda m, _: f"backbone.refine.{m[1]}"),
    (re.compile(r"backbone_2d\.scale_layers\.(\d+)\.(\d+)\.(.+)"),
     lambda m, _: f"backbone.scale_layers.{m[1]}.{int(m[2]) - 1}.{m[3]}"),
    (re.compile(r"backbone_2d\.attention\.spatial\.(conv|norm)\.(.+)"),
     lambda m, _: f"backbone.attention_module.{'conv' if m[1] == 'conv' else 'bn'}.{m[2]}"),
    (re.compile(r"dense_head\.(conv_cls|conv_box|conv_dir_cls)\.(.+)"), lambda m, _: f"head.{m[1]}.{m[2]}"),
]

_TO_OFFICIAL: list[_Rule] = [
    (re.compile(r"vfe\.layers\.(\d+)\.(linear|norm)\.(.+)"), lambda m, _: f"vfe.pfn_layers.{m[1]}.{m[2]}.{m[3]}"),
    (re.compile(r"scale_encoder\.net\.(\d+)\.(.+)"),
     lambda m, _: f"vfe.pfn_scale_layers.{int(m[1]) // 3}.{int(m[1]) % 3}.{m[2]}"),
    (re.compile(r"point_stream\.sa\.(\d+)\.mlps\.(\d+)\.(\d+)\.(.+)"),
     lambda m, _: f"backbone_3d.SA_modules.{m[1]}.mlps.{m[2]}.{m[3]}.{m[4]}"),
    (re.compile(r"point_stream\.fp\.(\d+)\.mlp\.(\d+)\.(.+)"),
     lambda m, n: f"backbone_3d.FP_modules.{n['fp'] - 1 - int(m[1])}.mlp.{m[2]}.{m[3]}"),
    (re.compile(r"memory\.weight"), lambda m, _: "map_to_bev_module.memory.weight"),
    (re.compile(r"backbone\.(blocks|deblocks)\.(.+)"), lambda m, _: f"backbone_2d.{m[1]}.{m[2]}"),
    (re.compile(r"backbone\.refine\.(.+)"), lambda m, _: f"backbone_2d.sfmblocks_down.{m[1]}"),
    (re.compile(r"backbone\.scale_layers\.(\d+)\.(\d+)\.(.+)"),
     lambda m, _: f"backbone_2d.scale_layers.{m[1]}.{int(m[2]) + 1}.{m[3]}"),
    (re.compile(r"backbone\.attention_module\.(conv|bn)\.(.+)"),
     lambda m, _: f"backbone_2d.attention.spatial.{'conv' if m[1] == 'conv' else 'norm'}.{m[2]}"),
    (re.compile(r"head\.(conv_cls|conv_box|conv_dir_cls)\.(.+)"), lambda m, _: f"dense_head.{m[1]}.{m[2]}"),
]


def _count_fp(keys: list[str], pattern: str) -> dict[str, int]:
    idx = [int(m[1]) for k in keys if (m := re.match(pattern, k))]
    return {"fp": max(idx) + 1 if idx else 0}


def _apply(sd: Mapping[str, Tensor], rules: list[_Rule], counts: dict[str, int], ignored: tuple[str, ...],
           what: str) -> dict[str, Tensor]:
    out: dict[str, Tensor] = {}
    unknown = []
    for key, value in sd.items():
        if key in ignored:
            continue
        for pattern, target in rules:
            m = pattern.fullmatch(key)
            if m:
                out[target(m, counts)] = value
                break
        else:
            unknown.append(key)
    if unknown:
        raise CheckpointError(f"{len(unknown)} {what} key(s) have no counterpart, e.g. {', '.join(unknown[:3])}")
    return out


def from_official_state_dict(sd: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """Official/OpenPCDet parameter names → ``hvpr.HVPR`` names (``module.`` prefixes are stripped)."""
    sd = {k[len("module."):] if k.startswith("module.") else k: v for k, v in sd.items()}
    counts = _count_fp(list(sd), r"backbone_3d\.FP_modules\.(\d+)\.")
    return _apply(sd, _TO_OURS, counts, IGNORED_OFFICIAL, "official")


def to_official_state_dict(sd: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """Inverse of :func:`from_official_state_dict` (``hvpr.HVPR`` names → official names)."""
    counts = _count_fp(list(sd), r"point_stream\.fp\.(\d+)\.")
    return _apply(sd, _TO_OFFICIAL, counts, (), "hvpr")


def read_official_state_dict(path: str | Path) -> dict[str, Tensor]:
    """The model tensors of an official checkpoint file (OpenPCDet ``{"model_state": ...}``, or any plain or
    wrapped state dict that ``cvcore.checkpoint.read_foreign_state_dict`` understands)."""
    from cvcore.checkpoint import read_foreign_state_dict

    p = Path(path)
    if not p.is_file():
        raise CheckpointError(f"checkpoint not found: {p}")
    try:
        obj = torch.load(p, map_location="cpu", weights_only=True)
    except Exception:  # noqa: BLE001 - let the cvcore reader produce the one-line error
        obj = None
    if isinstance(obj, dict) and isinstance(obj.get("model_state"), Mapping):
        return {k: v for k, v in obj["model_state"].items() if isinstance(v, Tensor)}
    return read_foreign_state_dict(p)


def load_official_checkpoint(path: str | Path, config: Any = None) -> Any:
    """An :class:`hvpr.HVPR` (``config`` or the ``kitti_car`` preset) with the weights of an official checkpoint.

    Raises:
        CheckpointError: missing/truncated file, keys without counterpart, missing keys or wrong shapes
            (e.g. a checkpoint of another configuration).
    """
    from hvpr.config import preset
    from hvpr.model.detector import HVPR

    model = HVPR(config if config is not None else preset("kitti_car"))
    ours = from_official_state_dict(read_official_state_dict(path))
    expected = model.state_dict()
    missing = [k for k in expected if k not in ours]
    extra = [k for k in ours if k not in expected]
    bad = [k for k in ours if k in expected and tuple(ours[k].shape) != tuple(expected[k].shape)]
    if missing or extra or bad:
        parts = []
        if missing:
            parts.append(f"missing {len(missing)} (e.g. {missing[0]})")
        if extra:
            parts.append(f"unexpected {len(extra)} (e.g. {extra[0]})")
        if bad:
            parts.append(f"wrong shape for {len(bad)} (e.g. {bad[0]}: {tuple(ours[bad[0]].shape)} vs "
                         f"{tuple(expected[bad[0]].shape)})")
        raise CheckpointError(f"{path} does not fit this HVPR configuration: " + "; ".join(parts))
    model.load_state_dict(ours)
    return model


__all__ = ["from_official_state_dict", "load_official_checkpoint", "read_official_state_dict",
           "to_official_state_dict"]
