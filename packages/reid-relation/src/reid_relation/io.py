"""Spec name for the official-checkpoint loader (``reid_relation.io.load_official_checkpoint``)."""

from reid_relation.official import load_official_checkpoint, official_to_ours, ours_to_official

__all__ = ["load_official_checkpoint", "official_to_ours", "ours_to_official"]
