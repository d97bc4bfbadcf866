import pytest
import torch

from cvcore.errors import CheckpointError
from isgan import ISGAN, load_official_checkpoint
from isgan.official import convert_official_state


def _official_layout(model: ISGAN) -> dict:
    """Rename our state dict into the official key layout (written independently of the loader:
    from the names of the official Encoder / Generator / Discriminator attributes)."""
    parts = ["zg_p0", "zg_p1", "z0_p1", "z1_p1", "zg_p2", "z0_p2", "z1_p2", "z2_p2"]
    fparts = [p.replace("z", "f", 1) for p in parts]
    c, g, d = {}, {}, {}
    for k, v in model.state_dict().items():
        if k.startswith("encoder.stem."):
            c["backbone." + k[len("encoder.stem."):]] = v
        elif k.startswith("encoder.id_branches.") or k.startswith("encoder.nid_branches."):
            kind, b, rest = k.split(".", 3)[1:]
            c[f"p{b}_{'id' if kind == 'id_branches' else 'nid'}.{rest}"] = v
        elif k.startswith("encoder.reductions."):
            _, _, i, rest = k.split(".", 3)
            c[f"reduction_{parts[int(i)]}_id.{rest}"] = v
        elif k.startswith("encoder.classifiers."):
            _, _, i, rest = k.split(".", 3)
            c[f"fc_{fparts[int(i)]}_id.{rest}"] = v
        elif k.startswith("encoder.mu_heads.") or k.startswith("encoder.logvar_heads."):
            _, kind, i, rest = k.split(".", 3)
            c[f"fc_{parts[int(i)]}_nid_{'mu' if kind == 'mu_heads' else 'lv'}.{rest}"] = v
        elif k.startswith("generator."):
            _, kind, rest = k.split(".", 2)
            g[f"{'G_fc' if kind == 'fc' else 'G_deconv'}.{rest}"] = v
        elif k.startswith("discriminator.body."):
            _, _, i, rest = k.split(".", 3)
            d[f"backbone.{int(i) + 1}.{rest}"] = v
        elif k.startswith("discriminator."):
            _, kind, rest = k.split(".", 2)
            name = {"image_head": "image_D", "class_conv": "label_D1"}.get(kind)
            d[f"{name}.{rest}" if name else f"label_D2.0.{rest}"] = v
    return {"model_C": c, "model_G": g, "model_D": d, "optimizer": {}, "optimizer_D": {}}


def test_official_keys_load_strictly_and_reproduce_outputs(tmp_path, tiny_kwargs):
    torch.manual_seed(0)
    src = ISGAN(6, (192, 128), **tiny_kwargs).eval()
    official = _official_layout(src)
    assert "backbone.0.weight" in official["model_C"] and "p0_id.0.0.conv1.weight" in official["model_C"]
    assert "fc_z2_p2_nid_lv.bias" in official["model_C"] and "label_D2.0.weight" in official["model_D"]
    assert "backbone.1.weight" in official["model_D"] and "G_deconv.0.weight" in official["model_G"]
    torch.save(official, tmp_path / "isgan_stage3_400.pt")
    dst = ISGAN(6, (192, 128), **tiny_kwargs)
    load_official_checkpoint(tmp_path / "isgan_stage3_400.pt", dst)
    x = torch.randn(2, 3, 192, 128)
    dst.eval()
    torch.testing.assert_close(dst(x), src(x))
    torch.testing.assert_close(dst.discriminator(x)[1], src.discriminator(x)[1])


def test_encoder_only_file_and_errors(tmp_path, tiny_kwargs):
    src = ISGAN(6, (192, 128), **tiny_kwargs)
    off = _official_layout(src)
    torch.save({"model_C": off["model_C"]}, tmp_path / "s1.pt")
    dst = ISGAN(6, (192, 128), **tiny_kwargs)
    load_official_checkpoint(tmp_path / "s1.pt", dst)
    torch.testing.assert_close(dst.encoder.stem[0].weight, src.encoder.stem[0].weight)
    bad = dict(off["model_C"])
    bad["p3_id.weight"] = torch.zeros(1)
    with pytest.raises(CheckpointError, match="unexpected key 'p3_id.weight'"):
        convert_official_state({"model_C": bad})
    with pytest.raises(CheckpointError, match="model_C"):
        convert_official_state({"state_dict": {}})
    torch.save({"model_C": off["model_C"]}, tmp_path / "wrong.pt")
    with pytest.raises(CheckpointError, match="shape"):
        load_official_checkpoint(tmp_path / "wrong.pt", ISGAN(9, (192, 128), **tiny_kwargs))
    (tmp_path / "trunc.pt").write_bytes((tmp_path / "s1.pt").read_bytes()[:100])
    with pytest.raises(CheckpointError, match="truncated"):
        load_official_checkpoint(tmp_path / "trunc.pt", dst)
