"""Loading the authors' released checkpoint (a pickled two-GPU ``DataParallel`` model).

The file is ``torch.save(model)`` of ``DataParallel(RelationModel)`` from PyTorch 0.4.1, so it
unpickles only where the modules ``Relation_final_ver_last_multi_scale_large_losses`` and
``resnet`` exist. :func:`load_official_checkpoint` reads it with
:func:`cvcore.checkpoint.read_foreign_state_dict` (stand-ins for the authors' classes), strips
``module.`` and renames the official keys to this package's modules.
"""

from __future__ import annotations

import os
import re
from collections import OrderedDict
from pathlib import Path

import torch

from cvcore.checkpoint import read_foreign_state_dict
from cvcore.errors import CheckpointError

__all__ = ["load_official_checkpoint", "official_to_ours", "ours_to_official"]

_KINDS = ("local_rest", "local", "rest", "global_max", "global_rest", "global")


def official_to_ours(key: str) -> str:
    """``local_6_conv_list.0.0.weight`` → ``relation.6.local.0.0.weight`` etc.; ``base.*`` unchanged."""
    k = key[7:] if key.startswith("module.") else key
    rules = [
        (r"^local_(\d+)_conv_list\.(\d+)\.", r"relation.\1.local.\2."),
        (r"^rest_(\d+)_conv_list\.(\d+)\.", r"relation.\1.rest.\2."),
        (r"^relation_(\d+)_conv_list\.(\d+)\.", r"relation.\1.fuse.\2."),
        (r"^global_(\d+)_max_conv_list\.0\.", r"gcp.\1.max_emb."),
        (r"^global_(\d+)_rest_conv_list\.0\.", r"gcp.\1.cont_emb."),
        (r"^global_(\d+)_pooling_conv_list\.0\.", r"gcp.\1.fuse."),
    ]
    for pat, rep in rules:
        if re.match(pat, k):
            return re.sub(pat, rep, k)
    m = re.match(r"^fc_(local_rest|local|rest|global_max|global_rest|global)_(\d+)_list\.(\d+)\.(.*)$", k)
    if m:
        return f"heads.{m.group(1)}_{m.group(2)}.{m.group(3)}.{m.group(4)}"
    return k


def ours_to_official(key: str) -> str:
    """Inverse of :func:`official_to_ours` (used to write checkpoints in the official layout)."""
    rules = [
        (r"^relation\.(\d+)\.local\.(\d+)\.", r"local_\1_conv_list.\2."),
        (r"^relation\.(\d+)\.rest\.(\d+)\.", r"rest_\1_conv_list.\2."),
        (r"^relation\.(\d+)\.fuse\.(\d+)\.", r"relation_\1_conv_list.\2."),
        (r"^gcp\.(\d+)\.max_emb\.", r"global_\1_max_conv_list.0."),
        (r"^gcp\.(\d+)\.cont_emb\.", r"global_\1_rest_conv_list.0."),
        (r"^gcp\.(\d+)\.fuse\.", r"global_\1_pooling_conv_list.0."),
        (r"^heads\.([a-z_]+)_(\d+)\.(\d+)\.", r"fc_\1_\2_list.\3."),
    ]
    for pat, rep in rules:
        if re.match(pat, key):
            return re.sub(pat, rep, key)
    return key


def load_official_checkpoint(path: str | os.PathLike[str]) -> dict[str, torch.Tensor]:
    """Read the released model file (whole pickled model, or a plain state dict) and return a
    state dict for :class:`reid_relation.RelationNet` (``module.`` stripped, keys renamed).

    Only open files from a source you trust: a pickled model can run code when unpickled. The
    authors' classes are not needed (:func:`cvcore.checkpoint.read_foreign_state_dict` puts
    stand-ins in their place).

    Raises:
        CheckpointError: missing, truncated or not a RelationModel checkpoint.
    """
    p = Path(path)
    if not p.is_file():
        raise CheckpointError(f"official checkpoint not found: {p}")
    raw = read_foreign_state_dict(p, trust_pickle=True)
    sd = OrderedDict((official_to_ours(k), v) for k, v in raw.items())
    if not any(k.startswith("relation.") for k in sd) or not any(k.startswith("base.") for k in sd):
        raise CheckpointError(f"{p} does not look like an RRID RelationModel checkpoint "
                              "(no base.* / local_6_conv_list.* parameters)")
    return dict(sd)


def num_classes_of(state_dict: dict[str, torch.Tensor]) -> int:
    """Classifier size of a converted state dict (0 when it has no classifiers)."""
    w = state_dict.get("heads.global_6.0.weight")
    return 0 if w is None else int(w.shape[0])
