"""Network skeletons shared by the quantization packages (EWGS, DAQ).

The quantized variants differ only by what is plugged in:

- ``conv``: factory for the *quantizable* convolutions, called with ``nn.Conv2d``'s arguments
  (``conv(in_channels, out_channels, kernel_size=3, stride=s, padding=1, bias=False)``); default
  ``nn.Conv2d``. E.g. ``functools.partial(EWGSConv2d, w_bits=1, a_bits=1)``.
- ``act``: factory for the activation modules, called without arguments; default ``nn.ReLU``.
- ``stem_bn``: whether the stem BatchNorm is applied (EWGS: yes; DAQ: constructed but unused).

Stems and heads always stay plain ``nn.Conv2d``/``nn.Linear`` (full precision) in the CIFAR
ResNet and the small net; the torchvision models are built full precision and then quantized by
:func:`cvcore.quant.swap_layers` with a ``factory(module, plan)``.

Nothing here downloads weights.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from cvcore.quant.surgery import swap_layers

__all__ = [
    "CifarBasicBlock",
    "CifarResNet",
    "OptionAShortcut",
    "SmallConvNet",
    "count_parameters",
    "kaiming_init",
    "mobilenet_v2",
    "resnet18",
    "resnet20",
    "resnet34",
]

ConvFactory = Callable[..., nn.Module]
ActFactory = Callable[[], nn.Module]


def _relu() -> nn.Module:
    return nn.ReLU(inplace=False)


def count_parameters(model: nn.Module, *, trainable_only: bool = False) -> int:
    """Number of parameter elements (shared parameters counted once)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def kaiming_init(model: nn.Module) -> None:
    """Kaiming-normal (fan-in, gain sqrt(2)) for every Conv2d/Linear weight, subclasses included
    (official ``_weights_init`` of the CIFAR ResNets); biases and BN keep PyTorch defaults."""
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_normal_(m.weight)


class OptionAShortcut(nn.Module):
    """Parameter-free "option A" shortcut: ``x[:, :, ::2, ::2]`` then zero-pad ``pad`` channels on
    each side. ``(N, C, H, W) -> (N, C + 2·pad, ceil(H/2), ceil(W/2))``."""

    def __init__(self, pad: int) -> None:
        super().__init__()
        self.pad = pad

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, self.pad, self.pad))

    def extra_repr(self) -> str:
        return f"pad={self.pad}"


class CifarBasicBlock(nn.Module):
    """``conv3x3(stride) → BN → act → conv3x3 → BN → + shortcut → act``.

    Submodules (state-dict keys as in the official CIFAR ResNets): ``conv1, bn1, conv2, bn2,
    shortcut`` (+ parameter-free ``act1, act2``). The shortcut is the identity, or option A
    (:class:`OptionAShortcut` with ``planes // 4`` on each side) when stride or width change.
    """

    def __init__(
        self, in_planes: int, planes: int, stride: int = 1, *,
        conv: ConvFactory | None = None, act: ActFactory | None = None,
    ) -> None:
        super().__init__()
        conv = conv or nn.Conv2d
        act = act or _relu
        self.conv1 = conv(in_planes, planes, kernel_size=3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.act1 = act()
        self.conv2 = conv(planes, planes, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.act2 = act()
        if stride != 1 or in_planes != planes:
            if in_planes + 2 * (planes // 4) != planes:
                raise ValueError(f"option-A shortcut needs planes = 2·in_planes with planes % 4 == 0, got {in_planes}->{planes}")
            self.shortcut: nn.Module = OptionAShortcut(planes // 4)
        else:
            self.shortcut = nn.Sequential()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.act1(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.act2(out + self.shortcut(x))


class CifarResNet(nn.Module):
    """CIFAR ResNet (He et al. 2016, §4.2) with option-A shortcuts, as used by EWGS and DAQ.

    ``stem: conv3x3(in→w) [→ BN] → act; layer1..3: blocks at widths w, 2w, 4w (strides 1, 2, 2);
    global average pool → BatchNorm1d(4w) (``head_bn``) → Linear(4w → num_classes)``.

    Args:
        num_blocks: blocks per stage, ``(3, 3, 3)`` = ResNet-20.
        num_classes: classifier outputs.
        width: stem width ``w`` (16 in the paper; small values give tiny test nets).
        in_channels: image channels.
        conv: factory of the 18 block convolutions (see module docstring); stem and ``linear`` stay FP.
        act: activation factory.
        stem_bn: apply ``bn1`` after the stem conv (EWGS). ``bn1`` is always constructed so that
            state-dict keys are the same for ``stem_bn=False`` (DAQ, where it is unused).
        head_bn: BatchNorm1d ``bn2`` before the classifier (both papers).
        init: apply :func:`kaiming_init`.

    Keys: ``conv1, bn1, layer{1,2,3}.{i}.{conv1,bn1,conv2,bn2}, bn2, linear`` (official EWGS names).
    Shapes: ``(N, in_channels, H, W) -> (N, num_classes)``; 32×32 inputs give 32/16/8 feature maps.
    """

    def __init__(
        self, num_blocks: Sequence[int] = (3, 3, 3), num_classes: int = 10, width: int = 16, *,
        in_channels: int = 3, conv: ConvFactory | None = None, act: ActFactory | None = None,
        stem_bn: bool = True, head_bn: bool = True, init: bool = True,
    ) -> None:
        super().__init__()
        if len(num_blocks) != 3:
            raise ValueError(f"num_blocks must have 3 entries, got {tuple(num_blocks)}")
        if width < 2 or width % 2:
            raise ValueError(f"width must be an even number >= 2 (option-A shortcuts), got {width}")
        act = act or _relu
        self.stem_bn = stem_bn
        self.conv1 = nn.Conv2d(in_channels, width, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.act = act()
        planes, in_planes = [width, 2 * width, 4 * width], width
        stages = []
        for i, (n, p) in enumerate(zip(num_blocks, planes)):
            blocks = []
            for j in range(n):
                stride = 2 if (i > 0 and j == 0) else 1
                blocks.append(CifarBasicBlock(in_planes, p, stride, conv=conv, act=act))
                in_planes = p
            stages.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3 = stages
        self.bn2: nn.Module = nn.BatchNorm1d(in_planes) if head_bn else nn.Identity()
        self.linear = nn.Linear(in_planes, num_classes)
        if init:
            kaiming_init(self)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled features ``(N, 4w)`` (before ``bn2``)."""
        out = self.conv1(x)
        if self.stem_bn:
            out = self.bn1(out)
        out = self.act(out)
        out = self.layer3(self.layer2(self.layer1(out)))
        return F.adaptive_avg_pool2d(out, 1).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(self.bn2(self.features(x)))


def resnet20(
    num_classes: int = 10, width: int = 16, *, in_channels: int = 3,
    conv: ConvFactory | None = None, act: ActFactory | None = None, stem_bn: bool = True,
    head_bn: bool = True,
) -> CifarResNet:
    """CIFAR ResNet-20 (3×3 blocks, 18 block convs from ``conv``; ≈0.27 M parameters at width 16)."""
    return CifarResNet((3, 3, 3), num_classes, width, in_channels=in_channels, conv=conv, act=act,
                       stem_bn=stem_bn, head_bn=head_bn)


def _torchvision(builder: Callable[..., nn.Module], factory: Any, swap_kwargs: dict[str, Any],
                 **build_kwargs: Any) -> nn.Module:
    model = builder(weights=None, **build_kwargs)
    if factory is None:
        return model
    return swap_layers(model, factory, inplace=True, **swap_kwargs)


def resnet18(num_classes: int = 1000, *, factory: Any = None, **swap_kwargs: Any) -> nn.Module:
    """torchvision ResNet-18 (``weights=None``), quantized by ``factory`` when given.

    ``swap_kwargs`` go to :func:`cvcore.quant.swap_layers` (``w_bits, a_bits, skip_first=True,
    skip_last=True, quantize_linear, layer_bits``). Default rules: 7×7 stem and FC stay FP; the 16
    block convs and the 3 1×1 downsample convs (19 layers) are replaced. 11.69 M parameters (FP).
    """
    from torchvision.models import resnet18 as tv

    return _torchvision(tv, factory, swap_kwargs, num_classes=num_classes)


def resnet34(num_classes: int = 1000, *, factory: Any = None, **swap_kwargs: Any) -> nn.Module:
    """torchvision ResNet-34, as :func:`resnet18` (35 layers replaced by default; 21.80 M params)."""
    from torchvision.models import resnet34 as tv

    return _torchvision(tv, factory, swap_kwargs, num_classes=num_classes)


def mobilenet_v2(
    num_classes: int = 1000, width_mult: float = 1.0, *, factory: Any = None,
    skip_first: bool = False, skip_last: bool = False, **swap_kwargs: Any,
) -> nn.Module:
    """torchvision MobileNet-V2 (3.50 M parameters at width 1.0), quantized by ``factory`` when given.

    Both papers quantize **all** layers of MobileNet-V2 (stem and classifier included), hence
    ``skip_first=False, skip_last=False`` by default here (52 convs + 1 Linear).
    """
    from torchvision.models import mobilenet_v2 as tv

    return _torchvision(tv, factory, dict(swap_kwargs, skip_first=skip_first, skip_last=skip_last),
                        num_classes=num_classes, width_mult=width_mult)


class SmallConvNet(nn.Module):
    """A 3-conv net for small gray images (28×28 Fashion-MNIST, 8×8 digits).

    ``conv1: conv3x3(in→w) → BN → act`` (FP stem), ``conv2: conv3x3(w→2w, s2) → BN → act``,
    ``conv3: conv3x3(2w→4w, s2) → BN → act`` (both from ``conv``), global average pool,
    ``linear: Linear(4w → num_classes)`` (FP head). ``(N, C, H, W) -> (N, num_classes)``.
    """

    def __init__(
        self, in_channels: int = 1, num_classes: int = 10, width: int = 16, *,
        conv: ConvFactory | None = None, act: ActFactory | None = None, init: bool = True,
    ) -> None:
        super().__init__()
        conv = conv or nn.Conv2d
        act = act or _relu
        w = width
        self.conv1 = nn.Conv2d(in_channels, w, 3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(w)
        self.act1 = act()
        self.conv2 = conv(w, 2 * w, kernel_size=3, stride=2, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(2 * w)
        self.act2 = act()
        self.conv3 = conv(2 * w, 4 * w, kernel_size=3, stride=2, padding=1, bias=False)
        self.bn3 = nn.BatchNorm2d(4 * w)
        self.act3 = act()
        self.linear = nn.Linear(4 * w, num_classes)
        if init:
            kaiming_init(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.act1(self.bn1(self.conv1(x)))
        out = self.act2(self.bn2(self.conv2(out)))
        out = self.act3(self.bn3(self.conv3(out)))
        return self.linear(F.adaptive_avg_pool2d(out, 1).flatten(1))
