"""Data sets in their official layouts, the synthetic box set, box masks and augmentation."""

from bap.data.bg_mask import box_pixel_ranges, boxes_to_bg_mask, boxes_union_masks
from bap.data.coco import COCOBoxes
from bap.data.synthetic import SyntheticBoxDataset, SyntheticSample, write_voc_layout
from bap.data.voc import VOCBoxes, VOCPseudoLabels, VOCSegmentation, read_label_png
from bap.data.voc_xml import VOC_CLASSES, VOCAnnotation, read_voc_xml, write_voc_xml

__all__ = ["COCOBoxes", "SyntheticBoxDataset", "SyntheticSample", "VOCAnnotation", "VOCBoxes", "VOCPseudoLabels",
           "VOCSegmentation", "VOC_CLASSES", "box_pixel_ranges", "boxes_to_bg_mask", "boxes_union_masks",
           "read_label_png", "read_voc_xml", "write_voc_layout", "write_voc_xml"]
