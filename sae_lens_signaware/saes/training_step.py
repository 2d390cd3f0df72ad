"""The SA-GSAE's two training-step paths besides batch top-k support.

``fused_training_forward_pass``: the whole step as one ``SignAwareStep``
autograd node (``saes/fused.py``), the default. ``reference_losses``: the
sparsity and auxiliary losses recomputed from the input with the ops of
``saes/bi_jump_relu.py`` (``fused_step=False``; SAELens's
``training_forward_pass`` adds the reconstruction loss). Both give::

    L = ||x - x_hat||^2 + c * penalty + aux_coefficient ||x - (s @ W_dec + b_dec)||^2

with ``penalty = sum_i (g_pos + w g_neg)`` (``"l0"``, ``w`` =
``negative_l0_weight``) or ``sum_i ||W_dec[i]|| |s_i|`` (``"l1"``).
"""

from typing import TYPE_CHECKING

import torch
from sae_lens.saes.sae import TrainStepInput, TrainStepOutput

from sae_lens_signaware.saes.bi_jump_relu import soft_two_sided_gate
from sae_lens_signaware.saes.fused import SignAwareStep, StepSpec

if TYPE_CHECKING:
    from sae_lens_signaware.saes.sign_aware_gated_sae import (
        SignAwareGatedTrainingSAE,
    )


def reference_losses(
    sae: "SignAwareGatedTrainingSAE", step_input: TrainStepInput
) -> dict[str, torch.Tensor]:
    """The sparsity and auxiliary losses, from ``pi_gate`` and the gates
    recomputed from the input (autograd through the reference ops)."""
    pi_gate = sae.gate_and_magnitude(sae.process_sae_in(step_input.sae_in))[0]
    theta_pos, theta_neg = (t.to(pi_gate.dtype) for t in sae.loss_thresholds())
    if sae.cfg.two_sided:
        soft = soft_two_sided_gate(pi_gate, theta_pos, theta_neg)
    else:
        soft = torch.relu(pi_gate - theta_pos)

    if sae.cfg.sparsity == "l1":
        penalty = (soft.abs() * sae.W_dec.norm(dim=1)).sum(dim=-1)
    else:
        g_pos, g_neg = sae.gates(pi_gate, sae.cfg.bandwidth, sae.cfg.ste_to_input)
        if g_neg is not None:
            g_pos = g_pos + sae.cfg.negative_l0_weight * g_neg
        penalty = g_pos.sum(dim=-1)
    sparsity_loss = step_input.coefficients[sae.cfg.sparsity] * penalty.mean()

    W_dec: torch.Tensor = sae.W_dec
    b_dec: torch.Tensor = sae.b_dec
    if sae.cfg.aux_detach_decoder:
        W_dec, b_dec = W_dec.detach(), b_dec.detach()
    via_gate = soft @ W_dec + b_dec
    aux = (via_gate - step_input.sae_in).pow(2).sum(dim=-1).mean()
    return {
        f"{sae.cfg.sparsity}_loss": sparsity_loss,
        "auxiliary_reconstruction_loss": sae.cfg.aux_coefficient * aux,
    }


def fused_training_forward_pass(
    sae: "SignAwareGatedTrainingSAE", step_input: TrainStepInput
) -> TrainStepOutput:
    """The same losses as the reference, from one ``SignAwareStep`` node."""
    cfg = sae.cfg
    sae_in = sae.process_sae_in(step_input.sae_in)
    device_type = sae_in.device.type
    dtype = (
        torch.get_autocast_dtype(device_type)
        if torch.is_autocast_enabled(device_type)
        else sae.W_enc.dtype
    )
    theta_pos, theta_neg = sae.loss_thresholds()
    W_dec: torch.Tensor = sae.W_dec
    b_dec: torch.Tensor = sae.b_dec
    W_aux, b_aux = W_dec, b_dec
    if cfg.aux_detach_decoder:
        W_aux, b_aux = W_dec.detach(), b_dec.detach()
    spec = StepSpec(
        two_sided=cfg.two_sided,
        sparsity=cfg.sparsity,
        bandwidth=cfg.bandwidth,
        ste_to_input=cfg.ste_to_input,
        learn_thresholds=cfg.learn_thresholds,
        max_density=cfg.sparse_max_density,
        negative_weight=cfg.negative_l0_weight,
    )
    with torch.autocast(device_type, enabled=False):
        f, recon, recon_aux, penalty, pi_mag = SignAwareStep.apply(
            sae_in.to(dtype),
            sae.W_enc.to(dtype),
            sae.b_gate,
            sae.b_mag,
            sae.r_mag.exp(),
            theta_pos,
            theta_neg,
            W_dec.to(dtype),
            W_aux.to(dtype),
            W_dec.norm(dim=1) if cfg.sparsity == "l1" else None,
            spec,
        )
    hidden_pre = sae.hook_sae_acts_pre(pi_mag)
    feature_acts = sae.hook_sae_acts_post(f)
    sae_out = decoded(sae, recon)
    sparsity_loss = step_input.coefficients[cfg.sparsity] * penalty.mean()
    aux = (recon_aux + b_aux - step_input.sae_in).pow(2).sum(dim=-1).mean()
    return step_output(
        sae, step_input, sae_out, feature_acts, hidden_pre, sparsity_loss, aux
    )


def decoded(sae: "SignAwareGatedTrainingSAE", recon: torch.Tensor) -> torch.Tensor:
    """``sae_out`` from ``recon = f @ W_dec``: ``+ b_dec``, the output hook, the
    activation norm's inverse and the head reshape, as SAELens's ``decode``."""
    sae_out = sae.hook_sae_recons(recon + sae.b_dec)
    sae_out = sae.run_time_activation_norm_fn_out(sae_out)
    return sae.reshape_fn_out(sae_out, sae.d_head)


def step_output(
    sae: "SignAwareGatedTrainingSAE",
    step_input: TrainStepInput,
    sae_out: torch.Tensor,
    feature_acts: torch.Tensor,
    hidden_pre: torch.Tensor,
    sparsity_loss: torch.Tensor,
    aux: torch.Tensor,
) -> TrainStepOutput:
    """The step's output under SAELens's loss names: the reconstruction loss,
    ``sparsity_loss`` and ``aux_coefficient * aux``, and their sum."""
    sparsity = sae.cfg.sparsity
    mse_loss = sae.mse_loss_fn(sae_out, step_input.sae_in).sum(dim=-1).mean()
    losses = {
        "mse_loss": mse_loss,
        f"{sparsity}_loss": sparsity_loss,
        "auxiliary_reconstruction_loss": sae.cfg.aux_coefficient * aux,
    }
    return TrainStepOutput(
        sae_in=step_input.sae_in,
        sae_out=sae_out,
        feature_acts=feature_acts,
        hidden_pre=hidden_pre,
        loss=mse_loss
        + losses[f"{sparsity}_loss"]
        + losses["auxiliary_reconstruction_loss"],
        losses=losses,
    )
