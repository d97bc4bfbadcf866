"""Test helper: the 0.1.0 fused quantizer, the bit-for-bit reference of the in-place one."""

import torch


class ReferenceFused(torch.autograd.Function):
    """The previous fused quantizer (0.1.0), kept as the bit-for-bit reference of the in-place one."""

    @staticmethod
    def forward(ctx, x, lower, upper, steps, delta, ewgs):
        inv = torch.reciprocal(upper - lower)
        t = torch.sub(x, lower).mul_(inv)
        mask = (t >= 0) & (t <= 1)
        x_n = t.clamp_(0.0, 1.0)
        x_q = torch.mul(x_n, steps).round_().div_(steps)
        ctx.use_delta = bool(ewgs) and bool(delta != 0)
        ctx.save_for_backward(x_n, x_q, mask, inv.detach(), delta.detach().clone())
        return x_q

    @staticmethod
    def backward(ctx, g):
        x_n, x_q, mask, inv, delta = ctx.saved_tensors
        if ctx.use_delta:
            g = g * (1 + delta.to(g.dtype) * torch.sign(g) * (x_n - x_q))
        g_t = torch.where(mask, g, 0.0)
        gx = g_t * inv if ctx.needs_input_grad[0] else None
        gl = gu = None
        if ctx.needs_input_grad[1] or ctx.needs_input_grad[2]:
            s_xn = torch.dot(g_t.reshape(-1), x_n.reshape(-1))
            gu = -s_xn * inv
            gl = (s_xn - g_t.sum()) * inv
        return gx, gl, gu, None, None, None
