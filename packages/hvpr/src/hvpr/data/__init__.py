"""Data pipeline pieces (so far: the pillar voxelizer)."""

from hvpr.data.voxelize import PillarVoxelizer

__all__ = ["PillarVoxelizer"]
