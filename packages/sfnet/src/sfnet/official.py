"""Loading the authors' published weights (``weights/best_checkpoint.pt`` of cvlab-yonsei/SFNet)."""

from __future__ import annotations

import os

from sfnet.models.sfnet import SFNet

__all__ = ["load_official_checkpoint"]


def load_official_checkpoint(path: str | os.PathLike[str], model: SFNet | None = None, **model_kwargs) -> SFNet:
    """Build (or take) an :class:`SFNet` and load the official adaptation-layer weights into it.

    The official file holds only ``{"state_dict1": adap_layer_feat3.state_dict(), "state_dict2":
    adap_layer_feat4.state_dict()}``, each with the keys ``conv{1,2}.0.{weight,bias}`` and
    ``conv{1,2}.1.{weight,bias,running_mean,running_var,num_batches_tracked}`` (``conv1``/``conv2`` =
    ``Sequential(Conv2d, BatchNorm2d, ReLU)``), which :class:`~sfnet.models.adaptation.AdaptationBlock`
    reproduces; the backbone comes from ImageNet (pass ``pretrained_backbone=...`` in ``model_kwargs``).

    Raises:
        cvcore.errors.CheckpointError: missing/truncated file, wrong keys or shapes.
    """
    model = model if model is not None else SFNet(**model_kwargs)
    return model.load_official_checkpoint(path)
