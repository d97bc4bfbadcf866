"""2D backbone with the Attentive Multi-scale Feature Module (E20–E23), spec §2.7, §3.6, table 4.4."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

BN_EPS = 1e-3
BN_MOMENTUM = 0.01


def _cbr(cin: int, cout: int, stride: int = 1, zero_pad: bool = False) -> list[nn.Module]:
    conv = [nn.ZeroPad2d(1), nn.Conv2d(cin, cout, 3, stride=stride, padding=0, bias=False)] if zero_pad else \
        [nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)]
    return [*conv, nn.BatchNorm2d(cout, eps=BN_EPS, momentum=BN_MOMENTUM), nn.ReLU()]


class SpatialAttention(nn.Module):
    """A = sigmoid(BN(Conv3×3_{2→1}([max_c S ; mean_c S]))) (E21); conv with bias, BN2d(1). (B,C,H,W) -> (B,1,H,W)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 1, 3, padding=1, bias=True)
        self.bn = nn.BatchNorm2d(1, eps=BN_EPS, momentum=BN_MOMENTUM)

    def forward(self, s: Tensor) -> Tensor:
        pooled = torch.cat([s.max(dim=1, keepdim=True).values, s.mean(dim=1, keepdim=True)], dim=1)
        return torch.sigmoid(self.bn(self.conv(pooled)))


class AMFMBackbone(nn.Module):
    """Blocks + scale convs + attention-gated residual refinement (φ shared over the R steps) + upsampling neck.

    Call ``attention(S)`` once per iteration for the scale map S (B, C_s, H, W) -> list of A_ℓ, then
    ``forward(X, attn)`` for each pseudo image X (B, C_in, H, W) -> (B, Σ upsample_filters, H_o, W_o).
    """

    def __init__(self, in_channels: int, scale_channels: int, layer_nums: Sequence[int], layer_strides: Sequence[int],
                 num_filters: Sequence[int], scale_filters: Sequence[int], refine_steps: Sequence[int],
                 upsample_strides: Sequence[int], upsample_filters: Sequence[int], use_amfm: bool = True) -> None:
        super().__init__()
        self.use_amfm = use_amfm
        self.refine_steps = list(refine_steps)
        self.blocks, self.deblocks = nn.ModuleList(), nn.ModuleList()
        self.scale_layers, self.refine = nn.ModuleList(), nn.ModuleList()
        cin, sin = in_channels, scale_channels
        for n, st, cf, sf, up, uf in zip(layer_nums, layer_strides, num_filters, scale_filters, upsample_strides,
                                         upsample_filters):
            layers = _cbr(cin, cf, st, zero_pad=True)
            for _ in range(n):
                layers += _cbr(cf, cf)
            self.blocks.append(nn.Sequential(*layers))
            self.deblocks.append(nn.Sequential(nn.ConvTranspose2d(cf, uf, up, stride=up, bias=False),
                                               nn.BatchNorm2d(uf, eps=BN_EPS, momentum=BN_MOMENTUM), nn.ReLU()))
            if use_amfm:
                self.scale_layers.append(nn.Sequential(*_cbr(sin, sf, st)))
                self.refine.append(nn.Sequential(*_cbr(cf, cf)))
            cin, sin = cf, sf
        self.attention_module = SpatialAttention() if use_amfm else None
        self.out_channels = sum(upsample_filters)

    def attention(self, s: Tensor | None) -> list[Tensor] | None:
        """Attention maps A_ℓ (B, 1, H_ℓ, W_ℓ) from the scale map (E20–E21); None without AMFM."""
        if not self.use_amfm or s is None:
            return None
        maps = []
        for layer in self.scale_layers:
            s = layer(s)
            maps.append(self.attention_module(s))
        return maps

    def forward(self, x: Tensor, attn: list[Tensor] | None = None) -> Tensor:
        ups = []
        for i, block in enumerate(self.blocks):
            x = block(x)
            if attn is not None:
                for _ in range(self.refine_steps[i]):
                    x = x + attn[i] * self.refine[i](x)  # E22
            ups.append(self.deblocks[i](x))
        return torch.cat(ups, dim=1)  # E23
