"""One training iteration of each stage, in the official order (spec section 3 "Stage control")."""

from __future__ import annotations

import torch

from cvcore.distributed import average_gradients
from isgan.losses import (
    ISGANLoss,
    discriminator_loss,
    generator_adversarial_terms,
    identity_loss,
    kl_standard_normal,
    reconstruction_loss,
)
from isgan.model import ISGAN
from isgan.shuffle import mix_parts, official_partner_indices, part_mask, partner_indices

__all__ = ["adversarial_step", "make_fakes", "stage1_step"]


def _params(opt: torch.optim.Optimizer) -> list[torch.nn.Parameter]:
    return [p for g in opt.param_groups for p in g["params"]]


def stage1_step(model: ISGAN, opt: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
    """Stage 1: the identity encoder alone, ``L_R``."""
    opt.zero_grad(set_to_none=True)
    out = model.encoder(x, with_unrelated=False)
    loss = identity_loss(out.logits, y)
    loss.backward()
    average_gradients(_params(opt))
    opt.step()
    value = float(loss.detach())
    return {"loss": value, "id": value}


def make_fakes(model: ISGAN, x: torch.Tensor, y: torch.Tensor, *, images_per_id: int, ids_per_batch: int,
               generator: torch.Generator | None = None):
    """Encode and build the three reconstructions (I7): auto-encoding, identity shuffling,
    part-level shuffling. Returns ``(encoder_output, [x_A, x_S, x_P], partner, mask)``."""
    out = model.encoder(x)
    if model.official_compat:  # defects 2 and 3
        partner = official_partner_indices(x.shape[0], ids_per_batch, generator).to(x.device)
        mask = part_mask(official=True)
    else:
        partner = partner_indices(y, generator).to(x.device)
        mask = part_mask(generator=generator)
    id_own, nid = out.id_feat, out.nid_feat
    id_other = id_own[partner]
    g = model.generator
    fakes = [
        g(id_own, nid, y),
        g(id_other, nid, y),
        g(mix_parts(id_own, id_other, mask, model.config.feat_id), nid, y),
    ]
    return out, fakes, partner, mask


def adversarial_step(model: ISGAN, opt: torch.optim.Optimizer, opt_d: torch.optim.Optimizer, x: torch.Tensor,
                     y: torch.Tensor, stage: int, loss_fn: ISGANLoss, *, images_per_id: int = 4,
                     ids_per_batch: int = 4, generator: torch.Generator | None = None) -> dict[str, float]:
    """Stages 2 and 3: encoder forward, fakes, D step on detached fakes, then the encoder/G step
    against the updated D. D's gradients from the second pass are cleared before its next step."""
    opt.zero_grad(set_to_none=True)
    out, fakes, _, _ = make_fakes(model, x, y, images_per_id=images_per_id, ids_per_batch=ids_per_batch,
                                  generator=generator)
    d = model.discriminator
    real = x if model.official_compat else torch.tanh(x)  # defect 4: official D applies tanh itself
    target = torch.tanh(x)

    opt_d.zero_grad(set_to_none=True)
    loss_d = discriminator_loss(d(real), [d(f.detach()) for f in fakes], y, loss_fn.w)
    loss_d.backward()
    average_gradients(_params(opt_d))
    opt_d.step()

    d_fakes = [d(f) for f in fakes]
    adv, cls = generator_adversarial_terms(d_fakes, y)
    parts = {"adv": adv, "cls": cls, "rec": reconstruction_loss(fakes, target), "kl": kl_standard_normal(out.mu, out.logvar)}
    if stage == 3:
        parts["id"] = identity_loss(out.logits, y)
    terms = loss_fn.stage_total(stage, parts)
    terms["loss"].backward()
    average_gradients(_params(opt))
    opt.step()
    opt_d.zero_grad(set_to_none=True)  # drop D's gradients from the generator pass
    result = {k: float(v.detach()) for k, v in terms.items()}
    result["d_loss"] = float(loss_d.detach())
    result["rec_raw"] = float(parts["rec"].detach())
    return result
