"""The discriminator D with a real/fake patch head and an identity head (spec (I9), section 4.3)."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["Discriminator"]

LEAKY_SLOPE = 0.2


def _down(cin: int, cout: int, norm: bool) -> list[nn.Module]:
    layers: list[nn.Module] = [nn.Conv2d(cin, cout, 4, 2, 1)]
    if norm:
        layers.append(nn.InstanceNorm2d(cout, affine=False))
    layers.append(nn.LeakyReLU(LEAKY_SLOPE, inplace=True))
    return layers


class Discriminator(nn.Module):
    """``D(v) -> (patch probabilities (B, 1, h, w), class logits (B, C))``.

    Args:
        num_classes: C.
        width: feat_D (32).
        input_tanh: apply ``tanh`` to every input, as the official code does (its defect 4:
            fakes, already in tanh space, are squashed twice). The default feeds real images as
            ``tanh(x)`` from the training loop and fakes unchanged.
        num_down: stride-2 convolutions of the body: 5 (the spec's table, images of at least 96
            pixels per side) or 4 (drops ``c5``, 256->256; images of at least 48, the demo's 96x48).

    The class head averages over the whole map (adaptive pooling); the official fixed
    ``AvgPool2d((12, 4))`` on an 11x3 map crashes (defect 1), so there is no switch for it. It applies
    a LeakyReLU after its InstanceNorm (as every other InstanceNorm of D is followed): the spec's table
    pools the normalised map directly, whose mean is 0, which would leave the class head constant.
    """

    def __init__(self, num_classes: int, width: int = 32, input_tanh: bool = False, num_down: int = 5) -> None:
        super().__init__()
        if num_down not in (4, 5):
            raise ValueError(f"num_down must be 4 or 5, got {num_down}")
        w = width
        self.input_tanh, self.num_down = input_tanh, num_down
        self.min_size = 3 << num_down  # the two 4x4 stride-1 head convolutions need a 3x3 map
        c5 = _down(8 * w, 8 * w, True) if num_down == 5 else []
        self.body = nn.Sequential(*_down(3, w, False), *_down(w, 2 * w, True), *_down(2 * w, 4 * w, True),
                                  *_down(4 * w, 8 * w, True), *c5)
        self.image_head = nn.Sequential(nn.Conv2d(8 * w, 8 * w, 4, 1, 1), nn.InstanceNorm2d(8 * w, affine=False),
                                        nn.LeakyReLU(LEAKY_SLOPE, inplace=True), nn.Conv2d(8 * w, 1, 4, 1, 1),
                                        nn.Sigmoid())
        # LeakyReLU before the pooling: the spatial mean of an instance-normalised map is exactly 0 per
        # channel, so without it the logits would be the Linear bias alone (no gradient to G or encoders)
        self.class_conv = nn.Sequential(nn.Conv2d(8 * w, 8 * w, 4, 1, 1), nn.InstanceNorm2d(8 * w, affine=False),
                                        nn.LeakyReLU(LEAKY_SLOPE, inplace=True))
        self.class_fc = nn.Linear(8 * w, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_in")
            elif isinstance(m, nn.Linear):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
                nn.init.zeros_(m.bias)

    def forward(self, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if v.ndim != 4 or v.shape[1] != 3:
            raise ValueError(f"expected images (B, 3, H, W), got shape {tuple(v.shape)}")
        if min(v.shape[2], v.shape[3]) < self.min_size:
            raise ValueError(f"discriminator needs images of at least {self.min_size} pixels per side, "
                             f"got {tuple(v.shape[2:])}")
        if self.input_tanh:
            v = torch.tanh(v)
        f = self.body(v)
        patch = self.image_head(f)
        logits = self.class_fc(self.class_conv(f).mean(dim=(2, 3)))
        return patch, logits
