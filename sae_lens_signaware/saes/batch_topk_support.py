"""``support="batch_topk"``: pick the support by a batch-level top-k during
training, keep the Bi-Jump-ReLU (with fitted thresholds) at inference.

One training step (issue 10, "training schemes that keep the Bi-Jump-ReLU"):

- ``pi_gate``, ``pi_mag`` as always. A position ``(t, i)`` is a candidate when
  the gate and the magnitude agree in sign (``pi_gate > 0`` and ``pi_mag > 0``,
  or, two-sided, both < 0): elsewhere the Bi-Jump-ReLU gives 0 whatever the gate.
- The support is the ``k * batch`` candidates of largest ``|pi_mag| ||d_i||``
  (the size of what the latent adds, as SAELens's BatchTopK ranks) in the
  batch, ``k = target_l0`` (else ``threshold_init_l0``): exact L0 on average,
  no sparsity penalty and no controller (the penalty term is 0).
- ``f = support * pi_mag`` (sign agreement makes this the Bi-Jump-ReLU's value);
  the reconstruction trains the decoder and, through ``pi_mag``, the encoder.
- The auxiliary soft-gate loss (``aux_coefficient``) trains ``pi_gate`` with
  the current thresholds held fixed, as in the default scheme.
- The cut ``c`` follows an exponential moving average (``THRESHOLD_LR``) of the
  smallest selected score, as SAELens's BatchTopK fits the JumpReLU threshold it
  saves (the first step takes the first batch's cut). Each step the thresholds
  are set where the Bi-Jump-ReLU opens exactly when ``|pi_mag| ||d_i|| > c``
  (``_fit_thresholds``; exact with ``tie_thresholds=False``, the mean of the
  two sides when tied). At inference the SAE is the ordinary Bi-Jump-ReLU with
  these thresholds, so the saved format and the exports do not change. The cut
  lives on the module (not in the state dict): a resumed run starts it again.

A first version ranked by ``|pi_gate|`` with one global threshold; on the MLP
output it reached EV 0.46 at L0 8 against 0.75 for the default scheme
(``docs/results.md``, issue 10), so the ranking follows the magnitude now.
"""

from typing import TYPE_CHECKING

import torch
from sae_lens.saes.sae import TrainStepInput, TrainStepOutput

if TYPE_CHECKING:
    from sae_lens_signaware.saes.sign_aware_gated_sae import (
        SignAwareGatedTrainingSAE,
    )

SUPPORTS = ("gate", "batch_topk")
#: weight of each batch's cut in the threshold's moving average (SAELens's
#: ``topk_threshold_lr`` default)
THRESHOLD_LR = 0.01


def support_k(sae: "SignAwareGatedTrainingSAE") -> float:
    k = sae.cfg.target_l0 or sae.cfg.threshold_init_l0
    if not k:
        raise ValueError(
            'support="batch_topk" needs target_l0 (or threshold_init_l0) for its k'
        )
    return float(k)


def batch_topk_training_forward_pass(
    sae: "SignAwareGatedTrainingSAE", step_input: TrainStepInput
) -> TrainStepOutput:
    """The training step of ``support="batch_topk"`` (see the module docstring)."""
    cfg = sae.cfg
    sae_in = sae.process_sae_in(step_input.sae_in)
    pi_gate, pi_mag = sae.gate_and_magnitude(sae_in)
    pi_mag = sae.hook_sae_acts_pre(pi_mag)
    with torch.no_grad():
        agree = (pi_gate > 0) & (pi_mag > 0)
        if cfg.two_sided:
            agree |= (pi_gate < 0) & (pi_mag < 0)
        dec_norm = sae.W_dec.norm(dim=-1)
        score = torch.where(agree, pi_mag.abs() * dec_norm, 0.0)
        n_keep = min(max(1, round(support_k(sae) * score.shape[0])), score.numel())
        top = score.flatten().topk(n_keep)
        support = torch.zeros_like(score, dtype=torch.bool)
        support.view(-1)[top.indices] = True
        support &= score > 0
        _fit_thresholds(sae, top.values, step_input.n_training_steps, dec_norm)
    feature_acts = sae.hook_sae_acts_post(torch.where(support, pi_mag, 0.0))
    sae_out = sae.hook_sae_recons(feature_acts @ sae.W_dec + sae.b_dec)
    sae_out = sae.run_time_activation_norm_fn_out(sae_out)
    sae_out = sae.reshape_fn_out(sae_out, sae.d_head)
    mse_loss = sae.mse_loss_fn(sae_out, step_input.sae_in).sum(dim=-1).mean()

    theta_pos, theta_neg = (t.detach().to(pi_gate.dtype) for t in sae.thresholds())
    soft = torch.relu(pi_gate - theta_pos)
    if cfg.two_sided:
        soft = soft - torch.relu(-pi_gate - theta_neg)
    W_aux: torch.Tensor = sae.W_dec
    b_aux: torch.Tensor = sae.b_dec
    if cfg.aux_detach_decoder:
        W_aux, b_aux = W_aux.detach(), b_aux.detach()
    aux = (soft @ W_aux + b_aux - step_input.sae_in).pow(2).sum(dim=-1).mean()
    losses = {
        "mse_loss": mse_loss,
        f"{cfg.sparsity}_loss": mse_loss.new_zeros(()),
        "auxiliary_reconstruction_loss": cfg.aux_coefficient * aux,
    }
    return TrainStepOutput(
        sae_in=step_input.sae_in,
        sae_out=sae_out,
        feature_acts=feature_acts,
        hidden_pre=pi_mag,
        loss=mse_loss + losses["auxiliary_reconstruction_loss"],
        losses=losses,
    )


@torch.no_grad()
def _fit_thresholds(
    sae: "SignAwareGatedTrainingSAE",
    selected: torch.Tensor,
    step: int,
    dec_norm: torch.Tensor,
) -> None:
    """Move the cut ``c`` (in units of ``|f| ||d||``) towards the smallest selected
    score, and set each latent's thresholds so that the Bi-Jump-ReLU opens where
    ``|pi_mag| ||d_i|| > c`` with the gate's sign agreeing: with
    ``pi_mag = e^r (pi_gate - b_gate) + b_mag``,
    ``theta_pos = (c / ||d_i|| - b_mag) e^-r + b_gate`` and
    ``theta_neg = (c / ||d_i|| + b_mag) e^-r - b_gate``, both clamped at 0."""
    positive = selected[selected > 0]
    if positive.numel() == 0:
        return
    cut = float(positive.min())
    previous = getattr(sae, "_batch_topk_cut", None)
    if step == 0 or previous is None:
        value = cut
    else:
        value = (1 - THRESHOLD_LR) * previous + THRESHOLD_LR * cut
    sae._batch_topk_cut = value  # type: ignore[attr-defined]
    c = value / dec_norm.float().clamp(min=1e-8)
    inv_r = (-sae.r_mag.float()).exp()
    b_gate, b_mag = sae.b_gate.float(), sae.b_mag.float()
    theta_pos, theta_neg = sae.thresholds()
    pos = ((c - b_mag) * inv_r + b_gate).clamp(min=0.0)
    neg = ((c + b_mag) * inv_r - b_gate).clamp(min=0.0)
    if theta_neg is theta_pos:  # tied: one threshold for both sides
        theta_pos.data.copy_((pos + neg) / 2 if sae.cfg.two_sided else pos)
    else:
        theta_pos.data.copy_(pos)
        theta_neg.data.copy_(neg)
