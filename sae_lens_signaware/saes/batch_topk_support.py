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
- The auxiliary term (weight ``aux_coefficient``) is AuxK (``auxk_loss``), as
  SAELens's TopK revives dead latents, in place of the soft-gate
  reconstruction: with the soft gate at the fitted thresholds the decoder was
  pulled towards the soft code (EV 0.45 at L0 8 on the MLP output, issue 10),
  and with no auxiliary term 18% of the latents died. ``pi_gate`` then learns
  only its sign through the shared ``W_enc``; ``b_gate`` stays where it starts.
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

from sae_lens_signaware.saes.training_step import decoded, step_output

if TYPE_CHECKING:
    from sae_lens_signaware.saes.sign_aware_gated_sae import (
        SignAwareGatedTrainingSAE,
    )

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
    sae_out = decoded(sae, feature_acts @ sae.W_dec)
    aux = auxk_loss(
        sae, step_input.sae_in, sae_out, pi_mag, agree, step_input.dead_neuron_mask
    )
    no_penalty = sae_out.new_zeros(())  # the top-k cut sets the L0
    return step_output(sae, step_input, sae_out, feature_acts, pi_mag, no_penalty, aux)


def auxk_loss(
    sae: "SignAwareGatedTrainingSAE",
    sae_in: torch.Tensor,
    sae_out: torch.Tensor,
    pi_mag: torch.Tensor,
    agree: torch.Tensor,
    dead_neuron_mask: torch.Tensor | None,
) -> torch.Tensor:
    """AuxK (SAELens's TopK ``calculate_topk_aux_loss``, after sparsify): the
    ``d_in / 2`` dead latents of largest ``|pi_mag|`` (sign-agreeing) per token
    reconstruct the detached residual ``x - x_hat`` through ``W_dec`` (no bias),
    scaled by ``min(n_dead / k_aux, 1)``. Dead: the trainer's
    ``dead_neuron_mask`` (no firing for ``dead_feature_window`` steps)."""
    if dead_neuron_mask is None or (n_dead := int(dead_neuron_mask.sum())) == 0:
        return sae_out.new_zeros(())
    residual = (sae_in - sae_out).detach()
    k_aux = sae_in.shape[-1] // 2
    scale = min(n_dead / k_aux, 1.0)
    k_aux = min(k_aux, n_dead)
    candidates = torch.where(agree & dead_neuron_mask.bool(), pi_mag, 0.0)
    idx = candidates.detach().abs().topk(k_aux, dim=-1).indices
    acts = torch.zeros_like(pi_mag).scatter(-1, idx, candidates.gather(-1, idx))
    recons = acts @ sae.W_dec
    return scale * (recons - residual).pow(2).sum(dim=-1).mean()


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
