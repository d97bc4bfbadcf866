"""IS-GAN: learning disentangled representation for robust person re-identification (NeurIPS 2019).

Example::

    import torch, isgan
    model = isgan.ISGAN(num_classes=751)             # ResNet-50, 384x128, the paper's sizes
    desc = model.eval().embed(torch.randn(2, 3, 384, 128))   # (2, 2048), L2-normalised
"""

from importlib.metadata import version as _version

from isgan.discriminator import Discriminator
from isgan.encoder import Encoder, EncoderOutput
from isgan.generator import Generator
from isgan.losses import ISGANLoss, LossWeights, kl_standard_normal
from isgan.model import ISGAN, ModelConfig
from isgan.official import load_official_checkpoint
from isgan.shuffle import mix_parts, part_mask, partner_indices
from isgan.trainer import StageTrainer, TrainConfig

__version__ = _version("isgan")

__all__ = [
    "ISGAN",
    "Discriminator",
    "Encoder",
    "EncoderOutput",
    "Generator",
    "ISGANLoss",
    "LossWeights",
    "ModelConfig",
    "StageTrainer",
    "TrainConfig",
    "__version__",
    "kl_standard_normal",
    "load_official_checkpoint",
    "mix_parts",
    "part_mask",
    "partner_indices",
]
