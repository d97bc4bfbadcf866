"""Visual (DeepLabV3+) and semantic encoders."""

from gzs3.models.backbones import ResNetBackbone, TinyBackbone, build_backbone
from gzs3.models.deeplab import ASPP, Decoder, DeepLabV3PlusEncoder
from gzs3.models.semantic import SemanticEncoder

__all__ = ["ASPP", "Decoder", "DeepLabV3PlusEncoder", "ResNetBackbone", "SemanticEncoder", "TinyBackbone", "build_backbone"]
