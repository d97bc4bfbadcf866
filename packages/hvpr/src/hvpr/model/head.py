"""SSD-style anchor head (table 4.5, §3.7): 1×1 convs for class, box residuals and direction bins."""

from __future__ import annotations

import math

from torch import Tensor, nn

PRIOR_PROB = 0.01


class AnchorHead(nn.Module):
    """(B, C, H, W) -> cls (B, H·W·A, n_cls), box (B, H·W·A, 7), dir (B, H·W·A, n_bins); flat = (y·W + x)·A + a."""

    def __init__(self, in_channels: int, num_anchors: int, num_class: int, num_dir_bins: int = 2,
                 code_size: int = 7) -> None:
        super().__init__()
        self.num_anchors, self.num_class, self.code_size, self.num_dir_bins = num_anchors, num_class, code_size, \
            num_dir_bins
        self.conv_cls = nn.Conv2d(in_channels, num_anchors * num_class, 1)
        self.conv_box = nn.Conv2d(in_channels, num_anchors * code_size, 1)
        self.conv_dir_cls = nn.Conv2d(in_channels, num_anchors * num_dir_bins, 1)
        nn.init.constant_(self.conv_cls.bias, -math.log((1 - PRIOR_PROB) / PRIOR_PROB))
        nn.init.normal_(self.conv_box.weight, mean=0.0, std=0.001)

    @staticmethod
    def _flat(x: Tensor, k: int) -> Tensor:
        b = x.shape[0]
        return x.permute(0, 2, 3, 1).reshape(b, -1, k)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        return (self._flat(self.conv_cls(x), self.num_class), self._flat(self.conv_box(x), self.code_size),
                self._flat(self.conv_dir_cls(x), self.num_dir_bins))
