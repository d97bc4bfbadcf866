"""(E10) MATLAB-compatible bicubic resize."""

import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pisr.data.imresize import cubic, imresize, resize_weights

GOLDEN = Path(__file__).parent / "data" / "imresize_golden.npz"


def pattern16():
    y, x = np.mgrid[0:16, 0:16]
    return ((x * 37 + y * 11 + (x * y) % 7 * 20) % 256).astype(np.uint8)


def brute_force_1d(v, r):
    """Independent per-sample loop over MATLAB's contributions() (1-based, mirrored taps)."""
    n = len(v)
    n_out = math.ceil(round(n * r, 9))
    width = 4 / r if r < 1 else 4
    out = []
    for j in range(1, n_out + 1):
        u = j / r + 0.5 * (1 - 1 / r)
        left = math.floor(u - width / 2)
        taps = list(range(left, left + math.ceil(width) + 2))
        ws = [(r * float(cubic(np.array(r * (u - t)))) if r < 1 else float(cubic(np.array(u - t)))) for t in taps]
        tot = sum(ws)
        acc = 0.0
        for t, w in zip(taps, ws):
            i = t
            while i < 1 or i > n:  # mirror: ..., 2, 1 | 1 ... n | n, n-1, ...
                i = 1 - i if i < 1 else 2 * n + 1 - i
            acc += w / tot * v[i - 1]
        out.append(acc)
    return np.array(out)


def test_hand_computed_8_to_4():
    # Weights of k_r(x) = 0.5 k(0.5 x) at distances 0.5, 1.5, 2.5, 3.5 computed by hand:
    w05, w15, w25, w35 = 0.43359375, 0.11328125, -0.03515625, -0.01171875
    x = np.array([3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0])
    out = imresize(x[:, None], 0.5)[:, 0]
    first = x[0] * (w05 + w15) + x[1] * (w05 + w25) + x[2] * (w15 + w35) + x[3] * w25 + x[4] * w35
    last = x[3] * w35 + x[4] * w25 + x[5] * (w15 + w35) + x[6] * (w05 + w25) + x[7] * (w05 + w15)
    second = x[0] * (w35 + w25) + x[1] * w15 + x[2] * w05 + x[3] * w05 + x[4] * w15 + x[5] * w25 + x[6] * w35
    assert out.shape == (4,)
    assert out[0] == pytest.approx(first, abs=1e-12)
    assert out[1] == pytest.approx(second, abs=1e-12)
    assert out[3] == pytest.approx(last, abs=1e-12)


@pytest.mark.parametrize("r", [1 / 2, 1 / 3, 1 / 4, 2.0, 3.0, 0.7])
def test_matches_brute_force_loop(r):
    v = np.random.default_rng(1).random(13)
    assert np.allclose(imresize(v[:, None], r)[:, 0], brute_force_1d(v, r), atol=1e-12)


@pytest.mark.parametrize("n,s", [(16, 2), (17, 3), (300, 3), (13, 4)])
def test_output_size_and_weights_sum_to_one(n, s):
    mat = resize_weights(n, math.ceil(n / s), 1 / s)
    assert mat.shape == (math.ceil(n / s), n)
    assert np.allclose(mat.sum(axis=1), 1.0)
    assert imresize(np.zeros((n, n + 1), np.uint8), 1 / s).shape == (math.ceil(n / s), math.ceil((n + 1) / s))


@pytest.mark.parametrize("r", [1 / 2, 1 / 3, 1 / 4, 3.0])
def test_constant_image_stays_constant_exactly_for_uint8(r):
    img = np.full((12, 15, 3), 173, np.uint8)
    out = imresize(img, r)
    assert out.dtype == np.uint8 and (out == 173).all()


def test_linear_ramp_preserved_away_from_borders():
    x = np.arange(40, dtype=np.float64)
    img = np.tile(x, (6, 1))
    out = imresize(img, 0.5)
    # output j (1-based) sits at input coordinate u = 2j - 0.5 (1-based) -> value 2j - 1.5 (0-based)
    j = np.arange(1, out.shape[1] + 1)
    inner = slice(3, -3)
    assert np.allclose(out[0, inner], (2 * j - 1.5)[inner], atol=1e-10)
    up = imresize(img, 2.0)
    ju = np.arange(1, up.shape[1] + 1)
    assert np.allclose(up[0, 4:-4], (ju / 2 + 0.25 - 1)[4:-4], atol=1e-10)


def test_symmetric_edges_differ_from_replicate():
    v = np.array([0.0, 10, 0, 0, 0, 0, 0, 0])
    out = imresize(v[:, None], 0.5)[:, 0]
    # mirror puts x2 = 10 at tap -1 as well: weight w05 + w25 = 0.3984375 on the 10
    assert out[0] == pytest.approx(10 * (0.43359375 - 0.03515625), abs=1e-12)


def test_interior_agrees_with_pillow_bicubic():
    img = np.random.default_rng(0).integers(0, 256, (64, 64), dtype=np.uint8)
    ours = imresize(img.astype(np.float64), 0.5)
    pil = np.asarray(Image.fromarray(img).resize((32, 32), Image.BICUBIC), dtype=np.float64)
    assert np.abs(ours[4:-4, 4:-4] - pil[4:-4, 4:-4]).max() <= 1.0  # Pillow rounds to uint8


def test_golden_values_of_a_fixed_pattern():
    img = pattern16()
    got = {f"x{s}": imresize(img, 1 / s) for s in (2, 3, 4)}
    got["up3"] = imresize(img[:5, :7], 3.0)
    assert GOLDEN.exists(), "golden file missing (written once with np.savez from this test's inputs; committed)"
    ref = np.load(GOLDEN)
    for k, v in got.items():
        assert np.array_equal(v, ref[k]), k
    # the golden values also agree with the independent loop on each axis
    rows = np.stack([brute_force_1d(c, 1 / 2) for c in img.T.astype(float)], axis=1)
    both = np.stack([brute_force_1d(r_, 1 / 2) for r_ in rows], axis=0)
    assert np.array_equal(ref["x2"], np.clip(np.round(both), 0, 255).astype(np.uint8))


def test_uint8_rounds_and_clips_float_does_not():
    img = np.zeros((8, 8), np.uint8)
    img[3:5, 3:5] = 255
    f = imresize(img.astype(np.float64), 3.0)
    u = imresize(img, 3.0)
    assert f.min() < 0 and f.max() > 255  # cubic overshoot
    assert u.dtype == np.uint8 and np.array_equal(u, np.clip(np.round(f), 0, 255).astype(np.uint8))


def test_bad_input():
    with pytest.raises(ValueError):
        imresize(np.zeros((0, 4)), 0.5)
    with pytest.raises(ValueError):
        imresize(np.zeros((4,)), 0.5)
    with pytest.raises(ValueError):
        imresize(np.zeros((4, 4)), -1)
