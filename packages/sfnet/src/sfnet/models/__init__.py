"""SFNet model and its parts."""

from sfnet.models.adaptation import AdaptationBlock
from sfnet.models.backbone import Backbone, build_backbone
from sfnet.models.sfnet import OFFICIAL_KEYS, SFNet, SFNetInference, SFNetOutput

__all__ = ["OFFICIAL_KEYS", "AdaptationBlock", "Backbone", "SFNet", "SFNetInference", "SFNetOutput", "build_backbone"]
