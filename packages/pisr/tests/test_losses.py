import math

import pytest
import torch

from pisr.losses import StudentLoss, TeacherLoss, gaussian_nll, imitation_loss, laplace_nll, reconstruction_loss
from pisr.models import PISRStudent, PISRTeacher, TeacherOutput

C_TERM = 56 * math.log(2 * math.pi) / 2


def test_laplace_nll_at_mu_equal_t_is_constant_plus_log_2b():
    t = torch.randn(2, 56, 3, 3, dtype=torch.float64)
    rho = torch.full_like(t, 0.7)
    b = 0.1 * 0.7 + 1e-8
    assert laplace_nll(t.clone(), rho, t).item() == pytest.approx(C_TERM + math.log(2 * b), abs=1e-12)


def test_laplace_nll_hand_value_and_constant_flag():
    mu = torch.zeros(1, 56, 1, 2, dtype=torch.float64)
    t = torch.zeros_like(mu)
    t[0, :, 0, 1] = 0.3
    rho = torch.ones_like(mu)
    b = 0.1 + 1e-8
    expected = math.log(2 * b) + 0.5 * 0.3 / b  # half the elements have |mu - t| = 0.3
    assert laplace_nll(mu, rho, t, add_constant=False).item() == pytest.approx(expected, abs=1e-12)
    assert (laplace_nll(mu, rho, t) - laplace_nll(mu, rho, t, add_constant=False)).item() == pytest.approx(C_TERM, abs=1e-12)


def test_laplace_gradient_sign_and_magnitude():
    mu = torch.randn(2, 56, 3, 3, dtype=torch.float64, requires_grad=True)
    t = torch.randn(2, 56, 3, 3, dtype=torch.float64)
    rho = torch.full_like(t, 2.0)
    laplace_nll(mu, rho, t).backward()
    b = 0.2 + 1e-8
    expected = torch.sign(mu.detach() - t) / b / mu.numel()
    assert torch.allclose(mu.grad, expected, atol=1e-12)


@pytest.mark.parametrize("shape", [(2, 56, 3, 3), (2, 56, 1, 1), (2, 1, 3, 3), (2, 1, 1, 1)])
def test_laplace_broadcasts_every_variance_mode(shape):
    mu = torch.randn(2, 56, 3, 3, dtype=torch.float64)
    t = torch.randn(2, 56, 3, 3, dtype=torch.float64)
    rho = torch.rand(shape, dtype=torch.float64) + 0.1
    b = (0.1 * rho + 1e-8).expand_as(mu)
    brute = (torch.log(2 * b) + (mu - t).abs() / b).mean() + C_TERM
    assert laplace_nll(mu, rho, t).item() == pytest.approx(brute.item(), rel=1e-12)


def test_gaussian_nll_hand_value():
    mu = torch.zeros(1, 56, 2, 2, dtype=torch.float64)
    t = torch.full_like(mu, 0.01)
    rho = torch.ones_like(mu)
    v = 1e-3 + 1e-8
    expected = C_TERM + 0.5 * math.log(v) + 0.01**2 / (2 * v)
    assert gaussian_nll(mu, rho, t).item() == pytest.approx(expected, abs=1e-12)


def test_scale_zero_still_finite_thanks_to_eps_and_shapes_checked():
    mu = torch.zeros(1, 4, 2, 2)
    assert torch.isfinite(laplace_nll(mu, torch.zeros_like(mu), mu))
    with pytest.raises(ValueError):
        laplace_nll(mu, mu, torch.zeros(1, 4, 2, 3))
    with pytest.raises(ValueError):
        reconstruction_loss(torch.zeros(1, 1, 2, 2), torch.zeros(1, 1, 2, 3))


def test_teacher_loss_is_l1_plus_1e4_l1():
    hr, sr = torch.rand(2, 1, 8, 8), torch.rand(2, 1, 8, 8)
    lr, code = torch.rand(2, 1, 4, 4), torch.rand(2, 1, 4, 4)
    out = TeacherLoss()(TeacherOutput(sr, code, {}), hr, lr)
    rec = (sr - hr).abs().mean()
    imit = (code - lr).abs().mean()
    assert out["loss"].item() == pytest.approx((rec + 1e-4 * imit).item(), rel=1e-6)
    assert out["imit"].item() == pytest.approx(1e-4 * imit.item(), rel=1e-6)
    with pytest.raises(ValueError, match="LR image"):
        TeacherLoss()(TeacherOutput(sr, code, {}), hr, None)
    assert TeacherLoss(lambda_imit=0)(TeacherOutput(sr, code, {}), hr, None)["imit"].item() == 0
    assert imitation_loss(torch.zeros(1, 1, 5, 5), torch.ones(1, 1, 4, 4)).item() == 1.0


def test_student_step_updates_backbone_and_heads_and_never_the_teacher():
    teacher = PISRTeacher(2, d=8, s=4, m=1).eval().requires_grad_(False)
    student = PISRStudent(2, d=8, s=4, m=1)
    t_before = {k: v.clone() for k, v in teacher.state_dict().items()}
    s_before = {k: v.clone() for k, v in student.state_dict().items()}
    opt = torch.optim.Adam(student.parameters(), lr=1e-2)
    lr, hr = torch.rand(2, 1, 6, 6), torch.rand(2, 1, 12, 12)
    with torch.no_grad():
        tf = teacher(hr).features
    loss = StudentLoss(lambda_distill=1.0)(student(lr), tf, hr)
    assert set(loss) == {"loss", "rec", "distill"}
    loss["loss"].backward()
    opt.step()
    for k, v in teacher.state_dict().items():
        assert torch.equal(v, t_before[k])
    assert all(p.grad is None for p in teacher.parameters())
    changed = {k for k, v in student.state_dict().items() if not torch.equal(v, s_before[k])}
    assert any(k.startswith("heads.expanding.mean") for k in changed)
    assert any(k.startswith("heads.expanding.var") for k in changed)
    assert any(k.startswith("backbone.") for k in changed)


def test_student_loss_weights():
    student = PISRStudent(2, d=8, s=4, m=1)
    lr, hr = torch.rand(1, 1, 4, 4), torch.rand(1, 1, 8, 8)
    out = student(lr)
    tf = {"expanding": torch.rand_like(out.mu["expanding"])}
    full = StudentLoss(lambda_distill=1e-6)(out, tf, hr)
    nll = laplace_nll(out.mu["expanding"], out.rho["expanding"], tf["expanding"])
    assert full["distill"].item() == pytest.approx(1e-6 * nll.item(), rel=1e-5)
    assert full["rec"].item() == pytest.approx((out.sr - hr).abs().mean().item(), rel=1e-6)
    g = StudentLoss(pdf="gaussian", lambda_distill=1.0)(out, tf, hr)["distill"]
    assert g.item() == pytest.approx(gaussian_nll(out.mu["expanding"], out.rho["expanding"], tf["expanding"]).item(), rel=1e-5)
    with pytest.raises(ValueError):
        StudentLoss(pdf="cauchy")
