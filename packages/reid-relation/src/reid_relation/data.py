"""Data sets: the standard layouts come from :mod:`cvcore.reid.data`; the authors' open-reid JSON
layout is :class:`OpenReIDLayout` (spec name ``reid_relation.data.OpenReIDLayout``)."""

from cvcore.reid.data import CUHK03, DukeMTMCreID, Market1501, build_dataset
from reid_relation.openreid_layout import OpenReIDLayout

__all__ = ["CUHK03", "DukeMTMCreID", "Market1501", "OpenReIDLayout", "build_dataset"]
