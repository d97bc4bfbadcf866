import numpy as np
import pytest
import torch
from PIL import Image

from pisr.data import imresize
from pisr.data.color import rgb_to_ycbcr, ycbcr_to_rgb
from pisr.inference import super_resolve_y, upscale
from pisr.models import FSRCNN


@pytest.fixture
def net():
    torch.manual_seed(0)
    return FSRCNN(3, d=8, s=4, m=2).eval()


@pytest.mark.parametrize("tile", [7, 16, 25])
def test_tiling_does_not_change_the_output(net, tile):
    y = torch.rand(37, 50)
    whole = super_resolve_y(net, y)
    tiled = super_resolve_y(net, y, tile=tile)
    assert whole.shape == (111, 150)
    assert np.abs(whole - tiled).max() < 1e-5


def test_nan_input_refused(net):
    y = torch.rand(8, 8)
    y[2, 2] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        super_resolve_y(net, y)


def test_ycbcr_round_trip_is_exact_for_uint8():
    img = np.random.default_rng(0).integers(0, 256, (10, 12, 3), dtype=np.uint8)
    assert np.array_equal(ycbcr_to_rgb(rgb_to_ycbcr(img)), img)
    from skimage.color import rgb2ycbcr

    assert np.allclose(rgb_to_ycbcr(img), rgb2ycbcr(img), atol=1e-10)


class _BicubicNet(torch.nn.Module):
    """A stand-in 'network' that upsamples Y with (E10): upscale must then equal RGB bicubic on Y/Cb/Cr."""

    scale = 2

    def forward(self, x):
        y = imresize(x[0, 0].double().numpy(), 2.0)
        return torch.from_numpy(y)[None, None].float()


def test_upscale_routes_y_through_the_network_and_cbcr_through_bicubic():
    img = np.random.default_rng(1).integers(30, 220, (9, 11, 3), dtype=np.uint8)
    out = upscale(img, _BicubicNet())
    ycc = rgb_to_ycbcr(img)
    ref = ycbcr_to_rgb(np.concatenate([np.clip(imresize(ycc, 2.0)[..., :1], 0, 255), imresize(ycc, 2.0)[..., 1:]], axis=2))
    assert out.shape == (18, 22, 3) and out.dtype == np.uint8
    assert np.abs(out.astype(int) - ref.astype(int)).max() <= 1


def test_upscale_grey_pil_and_errors(net):
    grey = np.full((6, 7), 90, np.uint8)
    assert upscale(grey, net).shape == (18, 21)
    assert upscale(Image.fromarray(np.zeros((5, 5, 3), np.uint8)), net).shape == (15, 15, 3)
    with pytest.raises(ValueError, match="upscales by 3"):
        upscale(grey, net, scale=2)
    with pytest.raises(ValueError):
        upscale(np.zeros((4, 4, 3), np.float32), net)


def _assemble(img, net, tile):
    from pisr.inference import _sr_blocks

    s = net.scale
    out = np.full((img.shape[0] * s, img.shape[1] * s, 3), np.nan)
    for rows, cols, ycc in _sr_blocks(img, net, tile, "cpu"):
        assert np.isnan(out[rows, cols]).all()  # blocks do not overlap
        out[rows, cols] = ycc
    return out


@pytest.mark.parametrize("tile", [5, 13, 32])
def test_tiled_upscale_pipeline_equals_the_whole_image(net, tile):
    """Tiling covers colour conversion, network and bicubic Cb/Cr: float result within 1e-5, uint8 within 1 level."""
    img = np.random.default_rng(2).integers(0, 256, (29, 41, 3), dtype=np.uint8)
    whole, tiled = _assemble(img, net, None), _assemble(img, net, tile)
    assert not np.isnan(tiled).any()
    assert np.abs(whole - tiled).max() / 255 < 1e-5
    a, b = upscale(img, net).astype(int), upscale(img, net, tile=tile).astype(int)
    assert a.shape == (87, 123, 3) and np.abs(a - b).max() <= 1 and (a != b).mean() < 1e-3
    grey = img[..., 1]
    assert np.abs(upscale(grey, net).astype(int) - upscale(grey, net, tile=tile).astype(int)).max() <= 1


def test_bad_tile_refused(net):
    with pytest.raises(ValueError, match="tile"):
        upscale(np.zeros((8, 8, 3), np.uint8), net, tile=0)
