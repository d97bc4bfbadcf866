"""Data: synthetic training pairs, PF-PASCAL, PF-WILLOW, TSS, the official training arrays."""

from sfnet.data.pf_pascal import VOC_CLASSES, PFPascal
from sfnet.data.pf_willow import PFWillow
from sfnet.data.synthetic import SyntheticPairDataset, random_affine
from sfnet.data.training_arrays import load_training_arrays, prepare_voc
from sfnet.data.tss import TSS, read_flo

__all__ = ["TSS", "VOC_CLASSES", "PFPascal", "PFWillow", "SyntheticPairDataset", "load_training_arrays",
           "prepare_voc", "random_affine", "read_flo"]
