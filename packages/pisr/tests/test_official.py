"""Official checkpoint layout (cvlab-yonsei/PISR) -> our modules."""

import pytest
import torch

from cvcore.errors import CheckpointError
from pisr.models import PISRStudent, PISRTeacher
from pisr.official import load_official_checkpoint


def official_student_state(d=56, s=12, m=4, c=None):
    """Key names and shapes written out by hand from the official FSRCNNStudent (models/fsrcnn.py, vid_module.py)."""
    g = torch.Generator().manual_seed(0)
    r = lambda *sh: torch.randn(*sh, generator=g)  # noqa: E731
    st = {
        "backbone.network.feature_extraction.0.0.weight": r(d, 1, 5, 5),
        "backbone.network.feature_extraction.0.0.bias": r(d),
        "backbone.network.feature_extraction.0.1.weight": r(1),
        "backbone.network.shrinking.0.0.weight": r(s, d, 1, 1),
        "backbone.network.shrinking.0.0.bias": r(s),
        "backbone.network.shrinking.0.1.weight": r(1),
    }
    for i in range(m):
        st[f"backbone.network.mapping.{i}.0.weight"] = r(s, s, 3, 3)
        st[f"backbone.network.mapping.{i}.0.bias"] = r(s)
        st[f"backbone.network.mapping.{i}.1.weight"] = r(1)
    st.update({
        "backbone.network.expanding.0.0.weight": r(d, s, 1, 1),
        "backbone.network.expanding.0.0.bias": r(d),
        "backbone.network.expanding.0.1.weight": r(1),
        "backbone.network.last_layer.0.0.weight": r(d, 1, 9, 9),
        "backbone.network.last_layer.0.0.bias": r(1),
    })
    for which in ("mean", "var"):
        st[f"vid_module_dict.expanding_{which}.0.weight"] = r(d, d, 1, 1)
        st[f"vid_module_dict.expanding_{which}.0.bias"] = r(d)
        st[f"vid_module_dict.expanding_{which}.1.weight"] = r(1)
        st[f"vid_module_dict.expanding_{which}.2.weight"] = r(d, d, 1, 1)
        st[f"vid_module_dict.expanding_{which}.2.bias"] = r(d)
    return st


def official_teacher_state(d=56, s=12, m=4):
    st = {k: v for k, v in official_student_state(d, s, m).items() if not k.startswith("vid")}
    g = torch.Generator().manual_seed(1)
    shapes = {0: (d, 1, 5, 5), 2: (d, d, 5, 5), 4: (s, d, 3, 3), 6: (1, s, 3, 3)}
    for j, sh in shapes.items():
        st[f"backbone.network.encoder.0.{j}.weight"] = torch.randn(*sh, generator=g)
        st[f"backbone.network.encoder.0.{j}.bias"] = torch.randn(sh[0], generator=g)
    for j in (1, 3, 5):
        st[f"backbone.network.encoder.0.{j}.weight"] = torch.randn(1, generator=g)
    return st


def test_student_checkpoint_loads_strictly_and_values_land_in_place(tmp_path):
    st = official_student_state()
    p = tmp_path / "epoch_0999.pth"
    torch.save({"state_dict": st, "optimizer_dict": {}, "epoch": 999, "step": 10**6}, p)
    model = load_official_checkpoint(p, "student", scale=3)
    assert isinstance(model, PISRStudent) and model.scale == 3
    assert torch.equal(model.backbone.mapping[2][0].weight, st["backbone.network.mapping.2.0.weight"])
    assert torch.equal(model.backbone.last_layer.weight, st["backbone.network.last_layer.0.0.weight"])
    assert torch.equal(model.heads["expanding"].var[2].bias, st["vid_module_dict.expanding_var.2.bias"])
    assert model(torch.rand(1, 1, 5, 5)).sr.shape == (1, 1, 15, 15)


def test_teacher_checkpoint_with_dataparallel_prefix_and_autodetect(tmp_path):
    st = {"module." + k: v for k, v in official_teacher_state().items()}
    p = tmp_path / "teacher.pth"
    torch.save({"state_dict": st}, p)
    model = load_official_checkpoint(p, None, scale=2)
    assert isinstance(model, PISRTeacher)
    assert torch.equal(model.encoder.body[2].weight, st["module.backbone.network.encoder.0.2.weight"])
    assert torch.equal(model.decoder.expanding[1].weight, st["module.backbone.network.expanding.0.1.weight"])


def test_truncated_and_foreign_files_are_clear_errors(tmp_path):
    p = tmp_path / "x.pth"
    torch.save({"state_dict": official_student_state()}, p)
    data = p.read_bytes()
    (tmp_path / "trunc.pth").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated"):
        load_official_checkpoint(tmp_path / "trunc.pth", "student")
    torch.save({"state_dict": {"fc.weight": torch.zeros(2)}}, tmp_path / "other.pth")
    with pytest.raises(CheckpointError, match="unexpected key"):
        load_official_checkpoint(tmp_path / "other.pth", "student")
    with pytest.raises(CheckpointError, match="not found"):
        load_official_checkpoint(tmp_path / "missing.pth", "student")
    bad = official_student_state()
    bad["backbone.network.shrinking.0.0.weight"] = torch.zeros(5, 56, 1, 1)
    torch.save(bad, tmp_path / "shape.pth")
    with pytest.raises(CheckpointError, match="does not fit"):
        load_official_checkpoint(tmp_path / "shape.pth", "student")
