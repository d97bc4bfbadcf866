"""Build the class setup, data sets and model from a :class:`gzs3.config.TrainConfig`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch

from cvcore.errors import ConfigError, DataError
from gzs3 import splits
from gzs3.config import TrainConfig
from gzs3.data import (
    ContextZeroShot,
    SyntheticZeroShot,
    TrainTransform,
    VOCZeroShot,
    synthetic_class_table,
)
from gzs3.data.synthetic import SYNTHETIC_CLASSES
from gzs3.embeddings import load_table, normalize_table
from gzs3.joint_embedding import JointEmbeddingModel
from gzs3.models import DeepLabV2Encoder, DeepLabV3PlusEncoder, SemanticEncoder

__all__ = ["ClassSetup", "build_class_setup", "build_datasets", "build_model", "excluded_classes", "load_tables"]

#: synthetic unseen classes in the order n_unseen takes them
SYNTHETIC_UNSEEN_ORDER = (2, 6, 4)


@dataclass
class ClassSetup:
    table: torch.Tensor  # (K, d_s)
    names: list[str]
    seen: list[int]
    unseen: list[int]
    excluded: list[int] = field(default_factory=list)  # never predicted (SPNet setting: background)

    @property
    def sc_classes(self) -> list[int]:
        """S*: seen object classes (background excluded), E8."""
        return [c for c in self.seen if c != 0]


def excluded_classes(cfg: TrainConfig) -> list[int]:
    """Classes that are never predicted nor scored: background in the SPNet setting."""
    return [0] if cfg.data.setting == "spnet" else []


def load_tables(spec: str, rows: int) -> torch.Tensor:
    """``"a.pkl"`` → that table (E1-scaled); ``"a.pkl,b.pkl"`` → the first ``rows`` rows of each,
    each scaled by its own max row norm, concatenated along the feature axis (the SPNet setting's
    word2vec ⊕ fastText 600-d table from the 34-row CaGNet files, spec §6)."""
    paths = [p.strip() for p in str(spec).split(",") if p.strip()]
    if len(paths) == 1:
        return load_table(paths[0], normalize="max")
    parts = []
    for p in paths:
        t = load_table(p, normalize=None)
        if t.shape[0] < rows:
            raise DataError(f"{p} has {t.shape[0]} rows, at least {rows} are needed")
        parts.append(normalize_table(t[:rows], "max"))
    return torch.cat(parts, dim=1)


def build_class_setup(cfg: TrainConfig) -> ClassSetup:
    d = cfg.data
    if d.setting not in ("zs3", "spnet"):
        raise ConfigError(f"unknown data.setting {d.setting!r}: use zs3 or spnet")
    if d.dataset == "synthetic":
        if d.setting != "zs3":
            raise ConfigError("the synthetic scenes exist in the ZS3 setting only")
        if not 0 <= d.n_unseen <= 3:
            raise ConfigError(f"synthetic data has 0-3 unseen classes, got data.n_unseen={d.n_unseen}")
        unseen = list(SYNTHETIC_UNSEEN_ORDER[: d.n_unseen])
        return ClassSetup(synthetic_class_table(), list(SYNTHETIC_CLASSES), [c for c in range(7) if c not in unseen], unseen)
    try:
        unseen = splits.unseen_classes(d.dataset, d.n_unseen, d.split_protocol, d.setting)
        seen = splits.seen_classes(d.dataset, d.n_unseen, d.split_protocol, d.setting)
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    if not d.embeddings:
        raise ConfigError(f"{d.dataset} needs a class-embedding table: --embeddings PATH "
                          "(norm_embed_arr_300_airplane.pkl for VOC, pascalcontext_class_w2c.npy for Context, "
                          "word2vec.pkl,fasttext.pkl for the SPNet setting)")
    k = splits.num_classes(d.dataset)
    table = load_tables(d.embeddings, k)
    if table.shape[0] != k:
        raise DataError(f"{d.embeddings} has {table.shape[0]} rows, {d.dataset} needs {k}")
    return ClassSetup(table, list(splits.class_names(d.dataset)), seen, unseen, excluded_classes(cfg))


def build_datasets(cfg: TrainConfig, setup: ClassSetup, *, train: bool = True, val: bool = True):  # type: ignore[no-untyped-def]
    """``(train_set, val_set)`` (None where not asked). Training sets drop images with unseen pixels."""
    d = cfg.data
    tr = va = None
    if d.setting == "spnet" and d.dataset != "voc":
        raise ConfigError("the SPNet setting exists for VOC only")
    if d.dataset == "synthetic":
        objects = [c for c in setup.seen if c != 0]
        if train:
            tr = SyntheticZeroShot(d.synthetic_train, d.synthetic_size, objects, seed=cfg.seed)
        if val:
            va = SyntheticZeroShot(d.synthetic_val, d.synthetic_size, None, seed=cfg.seed + 1)
        return tr, va
    if not d.root:
        raise ConfigError(f"{d.dataset} needs --data-root (the {'VOC2012' if d.dataset == 'voc' else 'Context'} folder)")
    root = Path(d.root)
    transform = TrainTransform(d.crop, (d.scale_min, d.scale_max), base_size=d.base_size)
    if d.dataset == "voc":
        spnet = d.setting == "spnet"  # all images kept; background (+ unseen in training) ignored
        if train:
            tr = VOCZeroShot(root, d.train_split or "train_aug", setup.unseen, not spnet, transform, d.sbd_root or None,
                             ignore_classes=[0, *setup.unseen] if spnet else ())
        if val:
            va = VOCZeroShot(root, d.val_split, setup.unseen, False, sbd_root=d.sbd_root or None,
                             ignore_classes=[0] if spnet else ())
    else:
        img_root = d.image_root or None
        if train:
            tr = ContextZeroShot(root, d.train_split or "train", setup.unseen, d.labels_file, img_root, True, transform)
        if val:
            va = ContextZeroShot(root, d.val_split, setup.unseen, d.labels_file, img_root, False)
    return tr, va


def build_model(cfg: TrainConfig, setup: ClassSetup) -> JointEmbeddingModel:
    m = cfg.model
    visual: DeepLabV3PlusEncoder | DeepLabV2Encoder
    if m.arch == "deeplabv2":
        if m.backbone not in ("resnet101", "tiny"):
            raise ConfigError(f"model.arch=deeplabv2 takes backbone resnet101 or tiny, got {m.backbone!r}")
        visual = DeepLabV2Encoder(setup.table.shape[0], m.backbone, m.feature_dim or None, m.freeze_backbone_bn,
                                  m.backbone_weights or None, width=m.width)
    elif m.arch == "deeplabv3plus":
        visual = DeepLabV3PlusEncoder(
            num_classes=setup.table.shape[0], output_stride=m.output_stride, backbone=m.backbone,
            freeze_backbone_bn=m.freeze_backbone_bn, pretrained=m.backbone_weights or None, width=m.width,
            feature_dim=m.feature_dim or None,
        )
    else:
        raise ConfigError(f"unknown model.arch {m.arch!r}: use deeplabv3plus or deeplabv2")
    semantic = SemanticEncoder(setup.table.shape[1], visual.feature_dim, m.semantic_hidden)
    return JointEmbeddingModel(visual, semantic, setup.table, setup.unseen, setup.names, exclude=setup.excluded)
