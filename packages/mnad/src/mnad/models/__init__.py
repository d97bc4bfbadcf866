"""MNAD networks and the loader of the authors' published files."""

from mnad.models.networks import (
    Decoder,
    Encoder,
    MNADPredictor,
    MNADReconstructor,
    ModelOutput,
    build_model,
)

__all__ = ["Decoder", "Encoder", "MNADPredictor", "MNADReconstructor", "ModelOutput", "build_model"]
