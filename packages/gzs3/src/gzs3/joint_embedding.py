"""The joint embedding model: visual features and semantic prototypes in one space (spec §1, E11-E15)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import nn

from gzs3.calibration import (
    DEFAULT_SIGMA,
    apollonius_calibration,
    calibrated_stacking,
    nearest_prototype,
)
from gzs3.distances import squared_distances
from gzs3.embeddings import embed_names

__all__ = ["JointEmbeddingModel"]

Calibration = Literal["apollonius", "none", "stacking"]


class JointEmbeddingModel(nn.Module):
    """Visual encoder + semantic encoder + the class table; a nearest-prototype segmenter.

    Args:
        visual: module with ``forward(x) -> (logits, features)`` and ``features(x)``
            (e.g. :class:`gzs3.models.DeepLabV3PlusEncoder`).
        semantic: g, ``(..., d_s) -> (..., D)`` (e.g. :class:`gzs3.models.SemanticEncoder`).
        class_embeddings: ``(K, d_s)`` word vectors of all classes (seen and unseen).
        unseen: ids of unseen classes.
        class_names: optional names (for ``add_classes`` by name and for display).
        exclude: ids that are never predicted and are neither seen nor unseen (the SPNet
            setting's background); their distances become +inf before any decision rule.

    Buffers ``class_embeddings (K, d_s)`` and ``unseen_mask (K,)`` are part of the state dict.
    """

    def __init__(self, visual: nn.Module, semantic: nn.Module, class_embeddings: torch.Tensor,
                 unseen: Sequence[int] = (), class_names: Sequence[str] | None = None,
                 exclude: Sequence[int] = ()) -> None:
        super().__init__()
        self.visual = visual
        self.semantic = semantic
        table = torch.as_tensor(class_embeddings, dtype=torch.float32)
        if table.ndim != 2:
            raise ValueError(f"class_embeddings must be (K, d_s), got {tuple(table.shape)}")
        mask = torch.zeros(table.shape[0], dtype=torch.bool)
        for u in unseen:
            if not 0 <= int(u) < table.shape[0]:
                raise ValueError(f"unseen class id {u} out of range [0, {table.shape[0]})")
            mask[int(u)] = True
        self.excluded = sorted(int(c) for c in exclude)
        if any(not 0 <= c < table.shape[0] for c in self.excluded) or set(self.excluded) & {int(u) for u in unseen}:
            raise ValueError(f"excluded classes {self.excluded} must be valid ids and not unseen")
        self.register_buffer("class_embeddings", table)
        self.register_buffer("unseen_mask", mask)
        self.class_names = list(class_names) if class_names is not None else [str(i) for i in range(table.shape[0])]
        if len(self.class_names) != table.shape[0]:
            raise ValueError(f"{len(self.class_names)} class names for {table.shape[0]} embeddings")

    # ------------------------------------------------------------------ classes
    @property
    def num_classes(self) -> int:
        return int(self.class_embeddings.shape[0])

    @property
    def unseen(self) -> list[int]:
        return [int(i) for i in torch.nonzero(self.unseen_mask).flatten()]

    @property
    def seen(self) -> list[int]:
        return [int(i) for i in torch.nonzero(~self.unseen_mask).flatten() if int(i) not in self.excluded]

    def prototypes(self, classes: Sequence[int] | None = None) -> torch.Tensor:
        """``mu_c = g(s_c)``: ``(|classes|, D)`` (all classes when None)."""
        table = self.class_embeddings if classes is None else self.class_embeddings[list(classes)]
        return self.semantic(table)

    def add_classes(self, classes: Sequence[str] | torch.Tensor | Mapping[str, Any],
                    word_vectors: Mapping[str, Any] | None = None, names: Sequence[str] | None = None,
                    unseen: bool = True) -> list[int]:
        """Add classes without retraining: their prototypes are ``g`` of their vectors.

        Args:
            classes: names (embedded with ``word_vectors`` by :func:`gzs3.embeddings.embed_names`),
                a ``(n, d_s)`` tensor/array of vectors, or a ``{name: vector}`` mapping.
            word_vectors: word → vector mapping, needed when ``classes`` are names.
            names: display names for vector input.
            unseen: mark the new classes as unseen (they get the Apollonius treatment).

        Returns:
            the new class ids.
        """
        if isinstance(classes, Mapping):
            names = [str(k) for k in classes]
            vecs = torch.stack([torch.as_tensor(v, dtype=torch.float32) for v in classes.values()])
        elif isinstance(classes, Sequence) and classes and all(isinstance(c, str) for c in classes):
            if word_vectors is None:
                raise ValueError("adding classes by name needs word_vectors (a word -> vector mapping)")
            names = list(classes)  # type: ignore[arg-type]
            vecs = embed_names(names, word_vectors)
        else:
            vecs = torch.as_tensor(classes, dtype=torch.float32)
            if vecs.ndim == 1:
                vecs = vecs[None]
        if vecs.ndim != 2 or vecs.shape[1] != self.class_embeddings.shape[1]:
            raise ValueError(f"new class vectors must be (n, {self.class_embeddings.shape[1]}), got {tuple(vecs.shape)}")
        if not torch.isfinite(vecs).all():
            raise ValueError("new class vectors contain NaN or infinite values")
        start = self.num_classes
        names = list(names) if names is not None else [str(start + i) for i in range(vecs.shape[0])]
        dev = self.class_embeddings.device
        self.class_embeddings = torch.cat([self.class_embeddings, vecs.to(dev)])
        self.unseen_mask = torch.cat([self.unseen_mask, torch.full((vecs.shape[0],), unseen, dtype=torch.bool, device=dev)])
        self.class_names.extend(names)
        return list(range(start, self.num_classes))

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):  # type: ignore[no-untyped-def]
        # A saved model may hold more classes (add_classes): take the saved table's size.
        for name in ("class_embeddings", "unseen_mask"):
            saved = state_dict.get(prefix + name)
            if saved is not None and saved.shape != getattr(self, name).shape:
                setattr(self, name, torch.empty_like(saved, device=getattr(self, name).device))
        k = self.class_embeddings.shape[0]
        if len(self.class_names) != k:
            self.class_names = (self.class_names + [str(i) for i in range(len(self.class_names), k)])[:k]
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    # ------------------------------------------------------------------ inference
    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Training outputs of the visual encoder: ``(logits (B,K0,H,W), features (B,D,H/4,W/4))``."""
        return self.visual(x)

    def distances(self, x: torch.Tensor, out_size: Literal["input", "feature"] | tuple[int, int] = "input") -> torch.Tensor:
        """Squared distances ``(B, K, H, W)`` (E11): features are bilinearly upsampled
        (``align_corners=False``) to ``out_size`` *before* distances are taken."""
        v = self.visual.features(x)
        if out_size == "input":
            size = tuple(x.shape[-2:])
        elif out_size == "feature":
            size = tuple(v.shape[-2:])
        else:
            size = tuple(out_size)
        if size != tuple(v.shape[-2:]):
            v = F.interpolate(v, size=size, mode="bilinear", align_corners=False)
        return squared_distances(v, self.prototypes())

    def decide(self, sq_dist: torch.Tensor, calibration: Calibration = "apollonius", sigma: float = DEFAULT_SIGMA,
               gamma: float = 0.0, mode: Literal["top2", "full"] = "top2") -> torch.Tensor:
        """Labels from distances: ``"apollonius"`` (E13), ``"stacking"`` (E15) or ``"none"`` (E12)."""
        if self.excluded:
            idx = torch.tensor(self.excluded, device=sq_dist.device)
            sq_dist = sq_dist.index_fill(1, idx, float("inf"))
        if calibration == "apollonius":
            return apollonius_calibration(sq_dist, self.unseen_mask, sigma, mode)
        if calibration == "stacking":
            return calibrated_stacking(sq_dist, ~self.unseen_mask, gamma)
        if calibration == "none":
            return nearest_prototype(sq_dist)
        raise ValueError(f"unknown calibration {calibration!r}: use apollonius, stacking or none")

    @torch.no_grad()
    def predict(self, x: torch.Tensor, sigma: float = DEFAULT_SIGMA, calibration: Calibration = "apollonius",
                gamma: float = 0.0, mode: Literal["top2", "full"] = "top2") -> torch.Tensor:
        """Label map ``(B, H, W)`` long for normalised images ``(B, 3, H, W)`` over all classes."""
        return self.decide(self.distances(x), calibration, sigma, gamma, mode)


class InferenceModule(nn.Module):
    """Image → labels with fixed calibration settings (what ``gzs3 export`` exports)."""

    def __init__(self, model: JointEmbeddingModel, calibration: Calibration = "apollonius",
                 sigma: float = DEFAULT_SIGMA, gamma: float = 0.0) -> None:
        super().__init__()
        self.model = model
        self.calibration, self.sigma, self.gamma = calibration, sigma, gamma

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.decide(self.model.distances(x), self.calibration, self.sigma, self.gamma)
