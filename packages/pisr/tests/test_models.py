import pytest
import torch

from pisr.models import FSRCNN, PISREncoder, PISRStudent, PISRTeacher, VarianceHead, init_student_from_teacher


def n_params(m):
    return sum(p.numel() for p in m.parameters())


def test_parameter_counts_match_the_spec():
    assert n_params(FSRCNN(2)) == 12_644
    assert n_params(FSRCNN(4)) == 12_644
    assert n_params(PISREncoder(2)) == 86_084
    assert n_params(PISRTeacher(3)) == 98_728
    assert n_params(VarianceHead(56, "none")) == 12_770
    assert n_params(FSRCNN(2, d=32, s=5, m=1)) == 4_016
    student = PISRStudent(2)
    assert n_params(student) == 12_644 + 12_770
    assert n_params(student.to_fsrcnn()) == 12_644


@pytest.mark.parametrize("scale", [2, 3, 4])
@pytest.mark.parametrize("hw", [(7, 9), (10, 10)])
def test_fsrcnn_output_is_exactly_s_times_input(scale, hw):
    net = FSRCNN(scale, d=8, s=4, m=1)
    y = net(torch.rand(2, 1, *hw))
    assert y.shape == (2, 1, scale * hw[0], scale * hw[1])
    assert y.dtype == torch.float32


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_encoder_output_is_ceil_and_teacher_round_trip(scale):
    enc = PISREncoder(scale, d=8, s=4)
    assert enc(torch.rand(1, 1, 97, 101)).shape == (1, 1, -(-97 // scale), -(-101 // scale))
    t = PISRTeacher(scale, d=8, s=4, m=1)
    out = t(torch.rand(1, 1, 97, 101))
    assert out.sr.shape == (1, 1, 97, 101)
    assert out.lr_code.shape == (1, 1, -(-97 // scale), -(-101 // scale))


def test_stage_names_order_and_expanding_width():
    net = FSRCNN(2)
    feats = net.forward_features(torch.rand(1, 1, 6, 6))
    assert list(feats) == ["feature_extraction", "shrinking", "mapping", "expanding", "last_layer"]
    assert feats["expanding"].shape[1] == 56
    assert torch.equal(feats["last_layer"], net(torch.rand(1, 1, 6, 6)) * 0 + feats["last_layer"])
    t = PISRTeacher(2, d=8, s=4, m=1)
    assert list(t(torch.rand(1, 1, 8, 8)).features) == ["encoder", *net.stage_names]


def test_prelu_is_one_slope_per_layer_initialised_at_quarter():
    prelus = [m for m in FSRCNN(2).modules() if isinstance(m, torch.nn.PReLU)]
    assert len(prelus) == 7
    assert all(p.weight.numel() == 1 and float(p.weight.detach()) == 0.25 for p in prelus)


@pytest.mark.parametrize("mode,shape", [("none", (2, 8, 5, 6)), ("channel", (2, 8, 1, 1)),
                                        ("spatial", (2, 1, 5, 6)), ("global", (2, 1, 1, 1))])
def test_variance_head_shapes_and_positivity(mode, shape):
    head = VarianceHead(8, mode)
    mu, rho = head(torch.randn(2, 8, 5, 6))
    assert mu.shape == (2, 8, 5, 6)
    assert rho.shape == shape
    assert (rho >= 0).all()


def test_student_output_continues_from_the_stage_not_from_mu():
    st = PISRStudent(2, d=8, s=4, m=1)
    x = torch.rand(1, 1, 6, 6)
    out = st(x)
    assert torch.allclose(out.sr, st.backbone(x))
    assert set(out.mu) == {"expanding"} and out.mu["expanding"].shape == (1, 8, 6, 6)
    # perturbing the heads leaves the SR output unchanged
    with torch.no_grad():
        for p in st.heads.parameters():
            p.add_(1.0)
    assert torch.equal(st(x).sr, out.sr)


def test_unknown_distill_layer_is_an_error():
    with pytest.raises(ValueError, match="unknown distill layer"):
        PISRStudent(2, distill_layers=("nope",))


def test_init_from_teacher_copies_the_whole_decoder_only():
    t = PISRTeacher(2, d=8, s=4, m=2)
    st = PISRStudent(2, d=8, s=4, m=2)
    heads_before = {k: v.clone() for k, v in st.heads.state_dict().items()}
    init_student_from_teacher(st, t)
    for k, v in t.decoder.state_dict().items():
        assert torch.equal(st.backbone.state_dict()[k], v), k
    for k, v in st.heads.state_dict().items():
        assert torch.equal(v, heads_before[k])
    # copies, not shared storage
    with torch.no_grad():
        st.backbone.feature_extraction[0].weight.add_(1)
    assert not torch.equal(st.backbone.feature_extraction[0].weight, t.decoder.feature_extraction[0].weight)
    with pytest.raises(ValueError):
        init_student_from_teacher(PISRStudent(2, d=8, s=4, m=1), t)


def test_bad_constructor_values():
    with pytest.raises(ValueError):
        FSRCNN(0)
    with pytest.raises(ValueError):
        FSRCNN(2, prelu="bogus")
    with pytest.raises(ValueError):
        VarianceHead(4, "bogus")
