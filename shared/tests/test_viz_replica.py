import numpy as np
import pytest
from PIL import Image

from cvcore.data import read_image
from cvcore.data.replica import Replica, rng_image
from cvcore.viz import heatmap_colors, image_grid, overlay_heatmap, overlay_mask, save_png, side_by_side, voc_palette


def test_voc_palette_known_entries():
    pal = voc_palette()
    assert pal[0].tolist() == [0, 0, 0]
    assert pal[1].tolist() == [128, 0, 0]
    assert pal[2].tolist() == [0, 128, 0]
    assert pal[15].tolist() == [192, 128, 128]  # person
    assert pal[255].tolist() == [224, 224, 192]  # the ignore colour of VOC


def test_overlay_mask_blends_only_labelled_pixels():
    img = np.full((4, 4, 3), 100, np.uint8)
    mask = np.zeros((4, 4), int)
    mask[0, 0], mask[1, 1] = 1, 255
    out = overlay_mask(img, mask, alpha=0.5)
    assert out[0, 0].tolist() == [114, 50, 50]  # (100 + 128) / 2, (100 + 0) / 2
    assert out[1, 1].tolist() == [100, 100, 100] and out[3, 3].tolist() == [100, 100, 100]
    with pytest.raises(ValueError, match="differ in size"):
        overlay_mask(img, np.zeros((3, 3), int))


def test_heatmap_and_grid_shapes(tmp_path):
    assert heatmap_colors(np.array([0.0, 1.0])).tolist() == [[0, 0, 128], [220, 0, 0]]
    img = rng_image(8, 10)
    hm = overlay_heatmap(img, np.arange(20.0).reshape(4, 5))
    assert hm.shape == (8, 10, 3)
    grid = image_grid([img] * 5, ncols=3, pad=1)
    assert grid.shape == (2 * 8 + 3, 3 * 10 + 4, 3)
    np.testing.assert_array_equal(grid[1:9, 1:11], img)
    panel = side_by_side([img, img[:, :5]], ["a", "b"])
    assert panel.shape[0] == 8 + 14 + 8
    p = save_png(tmp_path / "g.png", grid)
    np.testing.assert_array_equal(read_image(p), grid)


def test_replica_writes_real_formats(tmp_path):
    r = Replica(tmp_path)
    labels = np.array([[0, 1], [2, 255]], np.uint8)
    p = r.png_indexed("SegmentationClass/x.png", labels, palette=voc_palette())
    im = Image.open(p)
    assert im.mode == "P" and np.array(im).tolist() == labels.tolist()
    assert r.lines("ImageSets/val.txt", ["a", "b"]).read_text() == "a\nb\n"
    j = r.image("JPEGImages/x.jpg", rng_image(6, 7))
    assert read_image(j).shape == (6, 7, 3)
    assert np.load(r.npy("x/y.npy", np.arange(3))).tolist() == [0, 1, 2]


def test_png_indexed_without_palette_keeps_label_values(tmp_path):
    labels = np.array([[0, 15], [255, 15]], np.uint8)
    p = Replica(tmp_path).png_indexed("m.png", labels)
    assert np.array(Image.open(p)).tolist() == labels.tolist()
