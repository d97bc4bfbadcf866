"""HVPR configuration: nested dataclasses and the four presets (spec §6, §10.1, §11.3).

Built on :mod:`cvcore.config` (TOML files and dotted ``--set`` overrides). ``load_config(name_or_path,
overrides)`` accepts a preset name or a TOML path (merged over ``kitti_car``) and validates the geometry
(grid divisible by the backbone strides, anchor stride = first layer stride; fix D6).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from cvcore.config import apply_overrides
from cvcore.config import load_config as _cv_load_config
from cvcore.errors import ConfigError


@dataclass
class AugmentConfig:
    gt_sampling: dict[str, int] = field(default_factory=dict)
    flip_x: bool = True
    rot_range: tuple[float, float] = (-math.pi / 4, math.pi / 4)
    scale_range: tuple[float, float] = (0.95, 1.05)


@dataclass
class DataConfig:
    point_range: tuple[float, float, float, float, float, float] = (0.0, -19.84, -2.5, 47.36, 19.84, 0.5)
    voxel_size: tuple[float, float, float] = (0.16, 0.16, 3.0)
    max_points_per_voxel: int = 32
    max_voxels_train: int = 16000
    max_voxels_test: int = 40000
    num_points_train: int = 16384
    num_points_test: int = 16384
    fov_only: bool = True
    #: pillar voxelizer: "auto" (spconv PointToVoxel when importable, else torch), "spconv" or "torch"; the
    #: outputs are identical (tested), only speed and import time differ
    voxel_backend: str = "auto"
    class_names: tuple[str, ...] = ("Car",)
    augment: AugmentConfig = field(default_factory=AugmentConfig)

    @property
    def grid_size(self) -> tuple[int, int]:
        """(nx, ny) of the pillar grid."""
        r, v = self.point_range, self.voxel_size
        return round((r[3] - r[0]) / v[0]), round((r[4] - r[1]) / v[1])


@dataclass
class PointNetConfig:
    npoints: tuple[int, ...] = (4096, 1024)
    radii: tuple[tuple[float, ...], ...] = ((0.1, 0.5), (0.5, 1.0))
    nsamples: tuple[tuple[int, ...], ...] = ((16, 32), (16, 32))
    mlps: tuple[tuple[tuple[int, ...], ...], ...] = (((16, 16, 32), (16, 24, 32)), ((32, 32, 64), (32, 48, 64)))
    fp_mlps: tuple[tuple[int, ...], ...] = ((128, 128), (64, 64))
    use_point_stream: bool = True


@dataclass
class MemoryConfig:
    num_items: int = 2000
    dim: int = 64
    k: int = 20
    shrink: float = 0.0025
    train_query: str = "point"
    loss_norm: str = "official"


@dataclass
class BackboneConfig:
    layer_nums: tuple[int, ...] = (3, 3, 3)
    layer_strides: tuple[int, ...] = (1, 2, 2)
    num_filters: tuple[int, ...] = (128, 256, 512)
    scale_filters: tuple[int, ...] = (32, 64, 128)
    refine_steps: tuple[int, ...] = (3, 3, 3)
    upsample_strides: tuple[int, ...] = (1, 2, 4)
    upsample_filters: tuple[int, ...] = (128, 128, 128)
    use_amfm: bool = True


@dataclass
class AnchorConfig:
    class_name: str = "Car"
    sizes: tuple[tuple[float, float, float], ...] = ((3.9, 1.6, 1.56),)
    rotations: tuple[float, ...] = (0.0, 1.57)
    bottom_height: float = -1.78
    matched: float = 0.6
    unmatched: float = 0.45


@dataclass
class HeadConfig:
    anchors: list[AnchorConfig] = field(default_factory=lambda: [AnchorConfig()])
    dir_offset: float = 0.78539
    dir_limit_offset: float = 0.0
    num_dir_bins: int = 2


@dataclass
class ModelConfig:
    pfn_filters: tuple[int, ...] = (32, 64)
    scale_filters: tuple[int, ...] = (16, 32)
    point_net: PointNetConfig = field(default_factory=PointNetConfig)
    memory: MemoryConfig = field(default_factory=MemoryConfig)
    backbone: BackboneConfig = field(default_factory=BackboneConfig)
    head: HeadConfig = field(default_factory=HeadConfig)


@dataclass
class LossConfig:
    cls: float = 1.0
    loc: float = 2.0
    dir: float = 0.2
    mem: float = 1.0


@dataclass
class PostConfig:
    score_thresh: float = 0.1
    nms_thresh: float = 0.1
    nms_pre: int = 4096
    nms_post: int = 500
    multi_class_nms: bool = False


@dataclass
class OptimConfig:
    lr: float = 0.003
    weight_decay: float = 0.01
    moms: tuple[float, float] = (0.95, 0.85)
    pct_start: float = 0.4
    div_factor: float = 10.0
    grad_clip: float = 10.0
    epochs: int = 100
    batch_size: int = 1


@dataclass
class HVPRConfig:
    """Whole configuration; the defaults are the released ``kitti_car`` preset (§6.1)."""

    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    post: PostConfig = field(default_factory=PostConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)

    def validate(self) -> HVPRConfig:
        """Raise :class:`ConfigError` on inconsistent geometry; returns self."""
        nx, ny = self.data.grid_size
        bb = self.model.backbone
        n = len(bb.num_filters)
        for name in ("layer_nums", "layer_strides", "scale_filters", "refine_steps", "upsample_strides",
                     "upsample_filters"):
            if len(getattr(bb, name)) != n:
                raise ConfigError(f"model.backbone.{name} must have {n} entries")
        total = math.prod(bb.layer_strides)
        if nx % total or ny % total:
            raise ConfigError(f"grid {nx}x{ny} is not divisible by the backbone stride {total}")
        out = []
        s = 1
        for st, up in zip(bb.layer_strides, bb.upsample_strides):
            s *= st
            out.append(s // up if s % up == 0 else -1)
        if len(set(out)) != 1 or out[0] <= 0:
            raise ConfigError(f"upsampled backbone levels do not share one stride: {out}")
        if self.model.scale_filters[-1] <= 0 or self.model.memory.dim != self.model.pfn_filters[-1]:
            raise ConfigError("model.memory.dim must equal the pillar feature width pfn_filters[-1]")
        if self.model.point_net.use_point_stream and self.model.point_net.fp_mlps[-1][-1] != self.model.memory.dim:
            raise ConfigError("point features (fp_mlps[-1][-1]) must have the memory width")
        if self.model.memory.num_items < 0 or (self.model.memory.num_items == 0 and self.model.point_net.use_point_stream):
            raise ConfigError("model.memory.num_items = 0 (no memory, plain pillars) needs "
                              "model.point_net.use_point_stream = false")
        if self.data.voxel_backend not in ("auto", "spconv", "torch"):
            raise ConfigError("data.voxel_backend must be 'auto', 'spconv' or 'torch'")
        if self.model.memory.train_query not in ("point", "voxel"):
            raise ConfigError("model.memory.train_query must be 'point' or 'voxel'")
        if self.model.memory.loss_norm not in ("official", "mean"):
            raise ConfigError("model.memory.loss_norm must be 'official' or 'mean'")
        names = [a.class_name for a in self.model.head.anchors]
        if tuple(names) != tuple(self.data.class_names):
            raise ConfigError(f"head anchors {names} must match data.class_names {list(self.data.class_names)}")
        return self

    @property
    def feature_stride(self) -> int:
        """Stride of the head's feature map w.r.t. the pillar grid (= anchor stride; D6)."""
        bb = self.model.backbone
        return bb.layer_strides[0] // bb.upsample_strides[0] if bb.upsample_strides[0] else bb.layer_strides[0]


def _fullrange(cfg: HVPRConfig) -> HVPRConfig:
    cfg.data.point_range = (0.0, -39.68, -3.0, 69.12, 39.68, 1.0)
    cfg.data.voxel_size = (0.16, 0.16, 4.0)
    cfg.data.augment.gt_sampling = {"Car": 15}
    cfg.model.backbone.layer_strides = (2, 2, 2)
    cfg.optim.epochs = 80
    cfg.optim.batch_size = 4
    return cfg


def preset(name: str) -> HVPRConfig:
    """A fresh copy of preset ``kitti_car`` | ``kitti_car_fullrange`` | ``kitti_3class`` | ``tiny_synthetic``."""
    cfg = HVPRConfig()
    if name == "kitti_car":
        pass
    elif name == "kitti_car_fullrange":
        _fullrange(cfg)
    elif name == "kitti_3class":
        _fullrange(cfg)
        cfg.data.class_names = ("Car", "Pedestrian", "Cyclist")
        cfg.data.augment.gt_sampling = {"Car": 15, "Pedestrian": 15, "Cyclist": 15}
        cfg.model.head.anchors = [
            AnchorConfig("Car", ((3.9, 1.6, 1.56),), (0.0, 1.57), -1.78, 0.6, 0.45),
            AnchorConfig("Pedestrian", ((0.8, 0.6, 1.73),), (0.0, 1.57), -0.6, 0.5, 0.35),
            AnchorConfig("Cyclist", ((1.76, 0.6, 1.73),), (0.0, 1.57), -0.6, 0.5, 0.35),
        ]
        cfg.post.nms_thresh = 0.01
    elif name == "tiny_synthetic":
        d = cfg.data
        d.point_range = (0.0, -10.24, -3.0, 20.48, 10.24, 1.0)
        d.voxel_size = (0.32, 0.32, 4.0)
        d.num_points_train = d.num_points_test = 2048
        d.max_voxels_train = d.max_voxels_test = 4096
        d.fov_only = False
        m = cfg.model
        m.pfn_filters = (16, 32)
        m.scale_filters = (8, 16)
        m.point_net = PointNetConfig(npoints=(256, 64), radii=((0.8, 1.6), (1.6, 3.2)), nsamples=((8, 16), (8, 16)),
                                     mlps=(((8, 16), (8, 16)), ((32, 32), (32, 32))), fp_mlps=((32,), (32,)))
        m.memory = MemoryConfig(num_items=64, dim=32, k=4)
        m.backbone = BackboneConfig(layer_nums=(0, 0, 0), layer_strides=(2, 2, 2), num_filters=(32, 64, 128),
                                    scale_filters=(16, 32, 64), refine_steps=(1, 1, 1), upsample_strides=(1, 2, 4),
                                    upsample_filters=(32, 32, 32))
        cfg.optim.epochs = 1
    else:
        raise ConfigError(f"unknown preset {name!r} (known: {', '.join(PRESETS)})")
    return cfg.validate()


#: Overrides that turn a preset into the plain-pillar baseline: no point stream and no memory (the pseudo image
#: is the pillar features alone); same AMFM backbone, head, targets, losses and optimiser.
PLAIN_PILLARS = ("model.point_net.use_point_stream=false", "model.memory.num_items=0")

PRESETS = ("kitti_car", "kitti_car_fullrange", "kitti_3class", "tiny_synthetic")


def load_config(name_or_path: str | Path = "kitti_car", overrides: Iterable[str] | None = None) -> HVPRConfig:
    """Preset name or TOML file (merged over ``kitti_car``), then dotted overrides; validated."""
    if str(name_or_path) in PRESETS:
        cfg = apply_overrides(preset(str(name_or_path)), list(overrides or ()))
    else:
        cfg = _cv_load_config(HVPRConfig, name_or_path, list(overrides or ()), base=preset("kitti_car"))
    return cfg.validate()


__all__ = ["HVPRConfig", "PLAIN_PILLARS", "PRESETS", "load_config", "preset"] + [
    c.__name__ for c in (AugmentConfig, DataConfig, PointNetConfig, MemoryConfig, BackboneConfig, AnchorConfig,
                         HeadConfig, ModelConfig, LossConfig, PostConfig, OptimConfig)]
_ = dataclasses
