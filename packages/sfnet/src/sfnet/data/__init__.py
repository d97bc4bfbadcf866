"""Data: synthetic training pairs, PF-PASCAL, PF-WILLOW, TSS, Caltech-101, the official training arrays."""

from sfnet.data.caltech import Caltech101
from sfnet.data.pf_pascal import VOC_CLASSES, PFPascal
from sfnet.data.pf_willow import PFWillow
from sfnet.data.synthetic import SyntheticPairDataset, random_affine
from sfnet.data.training_arrays import load_training_arrays, prepare_voc
from sfnet.data.tss import TSS, read_flo

__all__ = ["TSS", "Caltech101", "VOC_CLASSES", "PFPascal", "PFWillow", "SyntheticPairDataset", "load_training_arrays",
           "prepare_voc", "random_affine", "read_flo"]
