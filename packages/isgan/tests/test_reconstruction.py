import numpy as np
import torch

from isgan import ISGAN
from isgan.reconstruction import mean_image_l1, reconstruction_l1, to_display
from isgan.shuffle import mix_parts, part_mask, partner_indices


def test_mean_image_l1_matches_numpy():
    x = torch.randn(5, 3, 6, 4, dtype=torch.float64)
    t = np.tanh(x.numpy())
    assert abs(mean_image_l1(x) - np.abs(t - t.mean(0)).mean()) < 1e-12
    assert mean_image_l1(x[:1]) == 0.0  # one image is its own mean


def test_reconstruction_l1_is_the_eval_mode_l1_of_the_three_fakes(tiny_kwargs):
    torch.manual_seed(0)
    model = ISGAN(3, (96, 48), **tiny_kwargs).train()
    x, y = torch.randn(6, 3, 96, 48), torch.tensor([0, 0, 1, 1, 2, 2])
    res = reconstruction_l1(model, x, y, seed=5, batch_size=4)  # batching must not matter
    assert model.training  # the mode is restored
    model.eval()
    g = torch.Generator().manual_seed(5)
    j, mask = partner_indices(y, g), part_mask(generator=g)
    noise = torch.randn(6, model.generator.noise_dim, generator=g)
    with torch.no_grad():
        out = model.encoder(x)
        codes = {"auto": out.id_feat, "shuffle": out.id_feat[j],
                 "part_shuffle": mix_parts(out.id_feat, out.id_feat[j], mask, model.config.feat_id)}
        for name, code in codes.items():
            ref = (model.generator(code, out.nid_feat, y, noise) - torch.tanh(x)).abs().mean()
            assert abs(res[name] - float(ref)) < 1e-5, name
    assert reconstruction_l1(model, x, y, seed=5, batch_size=4) == res  # seeded: repeatable


def test_to_display_inverts_the_generator_space():
    rgb = torch.rand(3, 8, 4) * 0.9 + 0.05
    mean = torch.tensor([0.485, 0.456, 0.406])[:, None, None]
    std = torch.tensor([0.229, 0.224, 0.225])[:, None, None]
    torch.testing.assert_close(to_display(torch.tanh((rgb - mean) / std)), rgb, atol=2e-3, rtol=0)
