"""Loading our checkpoints and the authors' ``fe_checkpoint`` / ``gen_checkpoint`` pairs (spec §3.18)."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

import gzs3
from cvcore.checkpoint import load_checkpoint
from cvcore.config import from_dict
from cvcore.errors import CheckpointError
from gzs3.config import TrainConfig
from gzs3.joint_embedding import JointEmbeddingModel
from gzs3.models import DeepLabV2Encoder, DeepLabV3PlusEncoder, SemanticEncoder

__all__ = ["is_deeplabv2", "load_official_checkpoint", "load_trained", "official_to_ours"]

# official DeepLabV3Plus key prefix -> ours (model/deeplabv3.py layout)
_RULES: tuple[tuple[str, str], ...] = (
    (r"^backbone\.", "backbone."),
    (r"^aspp\.convs\.4\.", "aspp.pool."),
    (r"^aspp\.convs\.(\d)\.", r"aspp.branches.\1."),
    (r"^aspp\.project\.", "aspp.project."),
    (r"^decoder\.project\.", "decoder.low."),
    (r"^decoder\.last_conv\.", "decoder.fuse."),
    (r"^decoder\.pred_conv\.", "classifier."),
)


# official DeepLabV2_classifier_600 (model/deeplabv2.py + model/model.py) -> DeepLabV2Encoder
_RULES_V2: tuple[tuple[str, str], ...] = (
    (r"^backbone\.", "backbone."),
    (r"^aspp\.c(\d)\.", r"aspp.c\1."),
    (r"^pred_conv\.", "classifier."),
)


def is_deeplabv2(state: dict[str, torch.Tensor]) -> bool:
    """True for the authors' SPNet-setting (DeepLab-V2) visual-encoder state dict."""
    return any(k.removeprefix("module.").startswith(("aspp.c0.", "pred_conv.")) for k in state)


def official_to_ours(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename an official visual-encoder state dict (``module.`` prefixes allowed) to
    :class:`gzs3.models.DeepLabV3PlusEncoder` keys, or :class:`gzs3.models.DeepLabV2Encoder` keys
    for the SPNet-setting files. Unknown keys raise :class:`CheckpointError`."""
    out = {}
    rules = _RULES_V2 if is_deeplabv2(state) else _RULES
    for k, v in state.items():
        k = k.removeprefix("module.")
        for pat, rep in rules:
            if re.match(pat, k):
                out[re.sub(pat, rep, k)] = v
                break
        else:
            raise CheckpointError(f"unexpected key {k!r} in the official visual-encoder checkpoint")
    return out


def _read_official(path: Path) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise CheckpointError(f"official checkpoint not found: {path}")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001
        raise CheckpointError(f"{path} is truncated or not a torch checkpoint ({str(exc).splitlines()[0]})") from exc
    if isinstance(obj, dict) and "state_dict" in obj:
        obj = obj["state_dict"]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise CheckpointError(f"{path}: expected a dict with a 'state_dict' of tensors (official JoEm format)")
    return obj


def load_official_checkpoint(fe_path: str | os.PathLike[str], gen_path: str | os.PathLike[str] | None,
                             class_embeddings: torch.Tensor, unseen: Sequence[int] = (),
                             class_names: Sequence[str] | None = None, output_stride: int = 16,
                             backbone: str = "resnet101", width: int = 16) -> JointEmbeddingModel:
    """Build a :class:`JointEmbeddingModel` from the authors' two files.

    Args:
        fe_path: ``fe_checkpoint-epochN.pth`` (dict with ``arch, epoch, state_dict, ...``); a
            DeepLab-V2 (SPNet-setting ``FE_checkpoint``) state dict is recognised by its keys.
        gen_path: ``gen_checkpoint-epochN.pth``; None derives it as the official code does,
            replacing "fe" by "gen" in the *file name only* (the official code rewrites the whole
            path, which breaks when a folder name contains "fe").
        class_embeddings: ``(K, 300)`` word vectors (:func:`gzs3.embeddings.load_table`).
        unseen: unseen class ids.
        backbone, width: architecture to build (the authors' files are ``"resnet101"``).

    Raises:
        CheckpointError: missing/truncated files, unknown keys or shapes that do not fit.
    """
    fe_path = Path(fe_path)
    if gen_path is None:  # "fe_checkpoint" (ZS3 trainers) or "FE_checkpoint" / "Gen_checkpoint" (SPNet trainer)
        name = fe_path.name
        gen_name = name.replace("fe", "gen", 1) if "fe" in name else name.replace("FE", "Gen", 1)
        gen_path = fe_path.with_name(gen_name)
    gen_path = Path(gen_path)
    raw = _read_official(fe_path)
    v2 = is_deeplabv2(raw)
    fe = official_to_ours(raw)
    gen = {k.removeprefix("module."): v for k, v in _read_official(gen_path).items()}
    if "classifier.weight" not in fe:
        raise CheckpointError(f"{fe_path} has no decoder.pred_conv.weight / pred_conv.weight: not a JoEm checkpoint")
    num_classes = fe["classifier.weight"].shape[0]
    arch = "DeepLab-V2" if v2 else "DeepLabV3+"
    visual: DeepLabV3PlusEncoder | DeepLabV2Encoder
    if v2:
        visual = DeepLabV2Encoder(num_classes, backbone, feature_dim=fe["classifier.weight"].shape[1], width=width)
    else:
        visual = DeepLabV3PlusEncoder(num_classes, output_stride=output_stride, backbone=backbone, width=width)
    try:
        res = visual.load_state_dict(fe, strict=False)
    except RuntimeError as exc:
        raise CheckpointError(f"{fe_path} does not fit {arch} {backbone}: {str(exc).splitlines()[0]}") from exc
    # SynchronizedBatchNorm2d of the official code may not store num_batches_tracked
    missing = [k for k in res.missing_keys if not k.endswith("num_batches_tracked")]
    if missing or res.unexpected_keys:
        raise CheckpointError(f"{fe_path} does not fit {arch} {backbone}: missing {missing[:3]}, "
                              f"unexpected {res.unexpected_keys[:3]}")
    w = gen.get("model.weight")
    if w is None:
        raise CheckpointError(f"{gen_path}: expected 'model.weight'/'model.bias' (GeneratorMLP, hidden_size 0)")
    semantic = SemanticEncoder(w.shape[1], w.shape[0])
    try:
        semantic.load_state_dict({"net.0.weight": w, "net.0.bias": gen["model.bias"]})
    except (RuntimeError, KeyError) as exc:
        raise CheckpointError(f"{gen_path} does not fit Linear({w.shape[1]}, {w.shape[0]}): {exc}") from exc
    if class_embeddings.shape[1] != w.shape[1]:
        raise CheckpointError(f"class embeddings have {class_embeddings.shape[1]} dims, the semantic encoder expects {w.shape[1]}")
    return JointEmbeddingModel(visual, semantic, class_embeddings, unseen, class_names).eval()


def load_trained(path: str | os.PathLike[str], device: str | torch.device = "cpu") -> tuple[JointEmbeddingModel, TrainConfig, dict[str, Any]]:
    """Rebuild the model saved by ``gzs3 train``: ``(model (eval mode), config, checkpoint dict)``."""
    from gzs3.engine.builders import ClassSetup, build_model, excluded_classes

    ckpt = load_checkpoint(path, package="gzs3", version=gzs3.__version__)
    try:
        cfg = from_dict(TrainConfig, ckpt.get("config") or {})
        state = ckpt["model"]
        table = state["class_embeddings"]
        mask = state["unseen_mask"]
    except (KeyError, TypeError) as exc:
        raise CheckpointError(f"{path} is not a gzs3 training checkpoint (missing {exc})") from exc
    names = list(ckpt.get("extra", {}).get("class_names") or [str(i) for i in range(table.shape[0])])
    unseen = [int(i) for i in torch.nonzero(mask).flatten()]
    excluded = excluded_classes(cfg)
    setup = ClassSetup(table, names, [c for c in range(table.shape[0]) if c not in unseen and c not in excluded],
                       unseen, excluded)
    cfg.model.backbone_weights = ""
    model = build_model(cfg, setup)
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise CheckpointError(f"{path} does not fit the model its config describes: {str(exc).splitlines()[0]}") from exc
    return model.to(device).eval(), cfg, ckpt
