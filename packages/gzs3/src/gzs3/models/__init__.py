"""Visual (DeepLabV3+, and DeepLab-V2 for the SPNet setting) and semantic encoders."""

from gzs3.models.backbones import ResNetBackbone, TinyBackbone, build_backbone
from gzs3.models.deeplab import ASPP, Decoder, DeepLabV3PlusEncoder
from gzs3.models.deeplabv2 import DeepLabV2ASPP, DeepLabV2Encoder, MSRAResNet
from gzs3.models.semantic import SemanticEncoder

__all__ = [
    "ASPP",
    "Decoder",
    "DeepLabV2ASPP",
    "DeepLabV2Encoder",
    "DeepLabV3PlusEncoder",
    "MSRAResNet",
    "ResNetBackbone",
    "SemanticEncoder",
    "TinyBackbone",
    "build_backbone",
]
