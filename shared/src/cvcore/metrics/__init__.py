"""Common evaluation metrics, each checked against an independent reference in the tests.

- :mod:`~cvcore.metrics.classification`: top-k accuracy.
- :mod:`~cvcore.metrics.segmentation`: confusion matrix, pixel/mean accuracy, (seen/unseen) mIoU.
- :mod:`~cvcore.metrics.image_quality`: MATLAB ``rgb2ycbcr`` Y, PSNR and SSIM with border crop.
- :mod:`~cvcore.metrics.ranking`: ROC-AUC with ties.
- :mod:`~cvcore.metrics.correspondence`: PCK at alpha.
"""

from cvcore.metrics.classification import topk_accuracy
from cvcore.metrics.correspondence import pck, pck_per_pair
from cvcore.metrics.image_quality import psnr, rgb_to_y, ssim, to_image
from cvcore.metrics.ranking import roc_auc
from cvcore.metrics.segmentation import ConfusionMatrix, confusion_matrix, segmentation_scores

__all__ = [
    "ConfusionMatrix",
    "confusion_matrix",
    "pck",
    "pck_per_pair",
    "psnr",
    "rgb_to_y",
    "roc_auc",
    "segmentation_scores",
    "ssim",
    "to_image",
    "topk_accuracy",
]
