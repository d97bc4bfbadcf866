"""MNAD's U-Net-like predictor and its skip-less reconstruction auto-encoder (spec Sec. 4).

Channel widths are multiples of ``width`` (64 reproduces the official network: 64/128/256/512,
feature dimension ``C = 8*width``). Frames are ``[-1, 1]``, sizes divisible by 8.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor, nn

from mnad import functional as MF
from mnad.memory import Memory

__all__ = ["Decoder", "Encoder", "MNADPredictor", "MNADReconstructor", "ModelOutput", "build_model"]


def basic(cin: int, cout: int, *, final_act: bool = True) -> nn.Sequential:
    """``Basic(a, b)``: Conv3x3-BN-ReLU-Conv3x3-BN-ReLU (``final_act=False``: ``Basic'``, the
    encoder's last block without the final BN/ReLU, spec Sec. 3 detail 6)."""
    layers: list[nn.Module] = [
        nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(),
        nn.Conv2d(cout, cout, 3, padding=1),
    ]
    if final_act:
        layers += [nn.BatchNorm2d(cout), nn.ReLU()]
    return nn.Sequential(*layers)


def upsample(cin: int, cout: int) -> nn.Sequential:
    """``Up(a, b)``: ConvTranspose3x3 (stride 2, pad 1, output_pad 1)-BN-ReLU (doubles h, w)."""
    return nn.Sequential(
        nn.ConvTranspose2d(cin, cout, 3, stride=2, padding=1, output_padding=1), nn.BatchNorm2d(cout), nn.ReLU()
    )


def generator_head(cin: int, cout: int, hidden: int) -> nn.Sequential:
    """``Gen(a, o)``: Conv-BN-ReLU-Conv-BN-ReLU-Conv-Tanh (output in [-1, 1])."""
    return nn.Sequential(
        nn.Conv2d(cin, hidden, 3, padding=1), nn.BatchNorm2d(hidden), nn.ReLU(),
        nn.Conv2d(hidden, hidden, 3, padding=1), nn.BatchNorm2d(hidden), nn.ReLU(),
        nn.Conv2d(hidden, cout, 3, padding=1), nn.Tanh(),
    )


class Encoder(nn.Module):
    """Four blocks with 2x2 max-pooling between them: ``(B, in, H, W) -> (B, 8w, H/8, W/8)``
    plus the skips ``(B, w, H, W)``, ``(B, 2w, H/2, W/2)``, ``(B, 4w, H/4, W/4)``."""

    def __init__(self, in_channels: int, width: int = 64, *, unused_bn: bool = False) -> None:
        super().__init__()
        w = width
        self.enc1 = basic(in_channels, w)
        self.enc2 = basic(w, 2 * w)
        self.enc3 = basic(2 * w, 4 * w)
        self.enc4 = basic(4 * w, 8 * w, final_act=False)
        self.pool = nn.MaxPool2d(2, 2)
        if unused_bn:
            # The official encoder constructs a BatchNorm2d(512) + ReLU after its last block and
            # never calls them (spec Sec. 3 detail 6); kept only with compat="official" so that
            # state dicts and parameter counts match the shipped model exactly.
            self.unused_bn = nn.BatchNorm2d(8 * w)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        s1 = self.enc1(x)
        s2 = self.enc2(self.pool(s1))
        s3 = self.enc3(self.pool(s2))
        return self.enc4(self.pool(s3)), s1, s2, s3


class Decoder(nn.Module):
    """Decoder of either variant. ``skips=True`` (prediction): U-Net concatenations
    ``[skip, upsampled]`` (skip first); ``skips=False`` (reconstruction): no skips and the
    up-sampling layers keep the channel count (spec Sec. 3 detail 7)."""

    def __init__(self, in_channels: int, out_channels: int = 3, width: int = 64, *, skips: bool = True) -> None:
        super().__init__()
        w = width
        self.skips = skips
        self.dec0 = basic(in_channels, 8 * w)
        if skips:
            self.up4, self.dec3 = upsample(8 * w, 4 * w), basic(8 * w, 4 * w)
            self.up3, self.dec2 = upsample(4 * w, 2 * w), basic(4 * w, 2 * w)
            self.up2, self.gen = upsample(2 * w, w), generator_head(2 * w, out_channels, w)
        else:
            self.up4, self.dec3 = upsample(8 * w, 8 * w), basic(8 * w, 4 * w)
            self.up3, self.dec2 = upsample(4 * w, 4 * w), basic(4 * w, 2 * w)
            self.up2, self.gen = upsample(2 * w, 2 * w), generator_head(2 * w, out_channels, w)

    def forward(self, z: Tensor, s1: Tensor | None = None, s2: Tensor | None = None,
                s3: Tensor | None = None) -> Tensor:
        x = self.dec0(z)
        if self.skips:
            x = self.dec3(torch.cat((s3, self.up4(x)), 1))
            x = self.dec2(torch.cat((s2, self.up3(x)), 1))
            return self.gen(torch.cat((s1, self.up2(x)), 1))
        x = self.dec3(self.up4(x))
        x = self.dec2(self.up3(x))
        return self.gen(self.up2(x))


class ModelOutput(NamedTuple):
    """Forward result of both models.

    Attributes:
        frame: ``(B, channels, H, W)`` predicted / reconstructed frame in [-1, 1].
        query: ``(B*h*w, C)`` unit queries (E1).
        compactness: scalar (E5) (0 without memory).
        separateness: scalar (E6) (0 without memory).
        z: decoder input ``(B, 2C, h, w)`` (``(B, C, h, w)`` raw features without memory).
        items: ``(M, C)`` items after the forward (updated when ``update_memory``), or None.
    """

    frame: Tensor
    query: Tensor
    compactness: Tensor
    separateness: Tensor
    z: Tensor
    items: Tensor | None


class _MNAD(nn.Module):
    variant = "pred"

    def __init__(self, in_channels: int, channels: int, width: int, num_items: int, use_memory: bool,
                 skips: bool, compat: str = "clean") -> None:
        super().__init__()
        if width < 1:
            raise ValueError(f"width must be >= 1, got {width}")
        if compat not in ("clean", "official"):
            raise ValueError(f"compat must be 'clean' or 'official', got {compat!r}")
        self.compat = compat
        self.in_channels, self.channels, self.width = in_channels, channels, width
        self.num_items, self.use_memory = num_items, use_memory
        self.feature_dim = 8 * width
        self.encoder = Encoder(in_channels, width, unused_bn=compat == "official")
        self.memory: Memory | None = Memory(num_items, self.feature_dim) if use_memory else None
        dec_in = 2 * self.feature_dim if use_memory else self.feature_dim
        self.decoder = Decoder(dec_in, channels, width, skips=skips)

    def forward(self, x: Tensor, *, update_memory: bool = False, items: Tensor | None = None) -> ModelOutput:
        """Args:
            x: ``(B, in_channels, H, W)`` in [-1, 1], ``H, W`` divisible by 8.
            update_memory: training: apply (E4) after the read and store the new items.
            items: test-time memory ``(M, C)`` to read instead of the stored items (never written).
        """
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"expected input (B, {self.in_channels}, H, W), got {tuple(x.shape)}")
        if x.shape[-1] % 8 or x.shape[-2] % 8:
            raise ValueError(f"frame height and width must be divisible by 8, got {tuple(x.shape[-2:])}")
        feat, s1, s2, s3 = self.encoder(x)
        if self.memory is None:
            zero = feat.new_zeros(())
            out_frame = self._decode(feat, s1, s2, s3)
            return ModelOutput(out_frame, MF.flatten_queries(feat), zero, zero, feat, None)
        mem = self.memory(feat, update=update_memory, items=items)
        out_frame = self._decode(mem.z, s1, s2, s3)
        return ModelOutput(out_frame, mem.query, mem.compactness, mem.separateness, mem.z, mem.items_after)

    def _decode(self, z: Tensor, s1: Tensor, s2: Tensor, s3: Tensor) -> Tensor:
        return self.decoder(z, s1, s2, s3)

    def hparams(self) -> dict[str, int | bool | str]:
        """Constructor arguments (stored in checkpoints)."""
        return {"variant": self.variant, "width": self.width, "num_items": self.num_items,
                "use_memory": self.use_memory, "channels": self.channels, "compat": self.compat}


class MNADPredictor(_MNAD):
    """Future-frame prediction variant: ``in_frames`` stacked frames ``(B, in_frames*channels, H, W)``
    -> next frame ``(B, channels, H, W)``. Full size (``width=64``): 15 650 819 parameters
    (13 291 523 without memory); ``compat="official"`` adds the official encoder's unused
    ``BatchNorm2d(512)`` (+1 024: 15 651 843 and 13 292 547 as shipped)."""

    variant = "pred"

    def __init__(self, in_frames: int = 4, channels: int = 3, width: int = 64, num_items: int = 10,
                 use_memory: bool = True, *, compat: str = "clean") -> None:
        super().__init__(in_frames * channels, channels, width, num_items, use_memory, skips=True, compat=compat)
        self.in_frames = in_frames

    def hparams(self) -> dict[str, int | bool | str]:
        return {**super().hparams(), "in_frames": self.in_frames}


class MNADReconstructor(_MNAD):
    """Reconstruction variant: one frame ``(B, channels, H, W)`` -> its reconstruction, no skips.
    Full size: 17 195 267 parameters (17 196 291 as shipped, with ``compat="official"``)."""

    variant = "recon"

    def __init__(self, channels: int = 3, width: int = 64, num_items: int = 10, use_memory: bool = True,
                 *, compat: str = "clean") -> None:
        super().__init__(channels, channels, width, num_items, use_memory, skips=False, compat=compat)
        self.in_frames = 1

    def _decode(self, z: Tensor, s1: Tensor, s2: Tensor, s3: Tensor) -> Tensor:
        return self.decoder(z)


def build_model(variant: str = "pred", *, t_length: int | None = None, channels: int = 3, width: int = 64,
                num_items: int = 10, use_memory: bool = True, compat: str = "clean") -> _MNAD:
    """``"pred"`` (input ``t_length - 1`` frames, default 5) or ``"recon"``."""
    if variant == "pred":
        t = 5 if t_length is None else t_length
        if t < 2:
            raise ValueError(f"the prediction variant needs t_length >= 2, got {t}")
        return MNADPredictor(t - 1, channels, width, num_items, use_memory, compat=compat)
    if variant == "recon":
        return MNADReconstructor(channels, width, num_items, use_memory, compat=compat)
    raise ValueError(f"unknown variant {variant!r}: use 'pred' or 'recon'")
