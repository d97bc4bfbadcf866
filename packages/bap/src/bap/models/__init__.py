"""Networks of the three stages: BAP classifier (stage 1/2), DeepLab-LargeFOV and DeepLab-V2-ASPP (stage 3)."""

from bap.models.classifier import BAPClassifier, caffe_normalize
from bap.models.deeplab import DeepLabLargeFOV, DeepLabV2ASPP, SegmentationNet, count_parameters
from bap.models.resnet import ResNet101OS8
from bap.models.vgg import TinyBackbone, VGG16Backbone

__all__ = ["BAPClassifier", "DeepLabLargeFOV", "DeepLabV2ASPP", "ResNet101OS8", "SegmentationNet", "TinyBackbone",
           "VGG16Backbone", "caffe_normalize", "count_parameters"]
