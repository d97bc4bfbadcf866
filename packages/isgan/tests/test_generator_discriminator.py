import pytest
import torch

from isgan import Discriminator, Generator


@pytest.mark.parametrize("size", [(192, 128), (384, 128), (96, 48)])
def test_generator_shape_and_range(size):
    g = Generator(5, id_dim=16, nid_dim=8, noise_dim=4, image_size=size, width=4)
    out = g(torch.randn(3, 16), torch.randn(3, 8), torch.tensor([0, 4, 2]))
    assert out.shape == (3, 3, *size)
    assert out.min() >= -1 and out.max() <= 1
    with pytest.raises(ValueError, match="multiples of 16"):
        Generator(5, image_size=(200, 128))


@pytest.mark.parametrize("size, n_up, first_kernel", [((384, 128), 6, (6, 2)), ((192, 128), 6, (3, 2)),
                                                      ((96, 48), 4, (6, 3)), ((288, 96), 5, (9, 3))])
def test_generator_depth_follows_the_image_size(size, n_up, first_kernel):
    from torch import nn

    from isgan.generator import num_upsamplings

    g = Generator(5, id_dim=16, nid_dim=8, noise_dim=4, image_size=size, width=4)
    convs = [m for m in g.deconv if isinstance(m, nn.ConvTranspose2d)]
    assert num_upsamplings(*size) == n_up and len(convs) == 1 + n_up
    assert convs[0].kernel_size == first_kernel and convs[0].stride == (1, 1)
    # the channel pyramid 8w -> 4w -> 2w -> w -> 3 is kept; only 8w -> 8w layers are dropped
    assert [c.out_channels for c in convs[-4:]] == [16, 8, 4, 3]
    assert all(c.out_channels == 32 for c in convs[:-4])
    with pytest.raises(ValueError, match="expected codes"):
        g(torch.randn(3, 15), torch.randn(3, 8), torch.tensor([0, 1, 2]))


def test_generator_noise_is_fresh_unless_given():
    g = Generator(3, id_dim=8, nid_dim=4, noise_dim=4, image_size=(192, 128), width=4).eval()
    a, b = torch.randn(2, 8), torch.randn(2, 4)
    y = torch.tensor([0, 1])
    assert not torch.allclose(g(a, b, y), g(a, b, y))
    n = torch.randn(2, 4)
    torch.testing.assert_close(g(a, b, y, n), g(a, b, y, n))


@pytest.mark.parametrize("size, patch", [((192, 128), (4, 2)), ((384, 128), (10, 2))])
def test_discriminator_heads_do_not_crash(size, patch):
    d = Discriminator(7, width=4)
    p, logits = d(torch.randn(2, 3, *size))
    assert p.shape == (2, 1, *patch) and logits.shape == (2, 7)
    assert 0 <= p.min() and p.max() <= 1


def test_discriminator_for_small_images_drops_c5():
    d5, d4 = Discriminator(3, width=4), Discriminator(3, width=4, num_down=4)
    assert len(d5.body) - len(d4.body) == 3  # conv, instance norm, leaky ReLU
    p, logits = d4(torch.randn(2, 3, 96, 48))
    assert p.shape == (2, 1, 4, 1) and logits.shape == (2, 3)
    with pytest.raises(ValueError, match="at least 96"):
        d5(torch.randn(1, 3, 96, 48))
    with pytest.raises(ValueError, match="num_down"):
        Discriminator(3, num_down=3)


def test_official_input_tanh():
    x = torch.randn(1, 3, 192, 128) * 3
    d = Discriminator(2, width=4)
    d_off = Discriminator(2, width=4, input_tanh=True)
    d_off.load_state_dict(d.state_dict())
    torch.testing.assert_close(d_off(x)[0], d(torch.tanh(x))[0])


def test_discriminator_class_head_depends_on_the_image():
    """The class logits must not collapse to the Linear bias (the mean of an InstanceNorm map is 0):
    they differ between images and their gradient reaches the input (L_cls trains G and the encoders)."""
    d = Discriminator(5, width=4, num_down=4)
    x = torch.randn(3, 3, 96, 48, requires_grad=True)
    _, logits = d(x)
    assert (logits - d.class_fc.bias).abs().max() > 1e-3
    assert (logits[0] - logits[1]).abs().max() > 1e-4
    torch.nn.functional.cross_entropy(logits, torch.tensor([0, 1, 2])).backward()
    assert x.grad.abs().max() > 0
