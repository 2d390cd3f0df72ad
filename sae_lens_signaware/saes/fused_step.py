"""The fused training-step path (the default): one ``SignAwareStep`` node.

``step_terms`` casts the input and the weights to the compute dtype (the
autocast dtype when autocast is on) and runs ``saes/fused.py``'s autograd
function once, with autocast off inside; it returns the terms
``reference_step.step_terms`` computes with the readable ops (``f``,
``f @ W_dec``, ``s @ W_aux + b_aux``, the penalty), to float rounding.
"""

import torch

from sae_lens_signaware.saes.fused import SignAwareStep
from sae_lens_signaware.saes.step_types import StepSpec, StepTensors, StepTerms


def compute_dtype(t: StepTensors) -> torch.dtype:
    """The autocast dtype where autocast is on, else the encoder's dtype."""
    device_type = t.sae_in.device.type
    if torch.is_autocast_enabled(device_type):
        return torch.get_autocast_dtype(device_type)
    return t.W_enc.dtype


def step_terms(t: StepTensors, spec: StepSpec) -> StepTerms:
    """The step's terms from one ``SignAwareStep`` node (``pi_mag`` without a gradient)."""
    dtype = compute_dtype(t)
    with torch.autocast(t.sae_in.device.type, enabled=False):
        f, recon, recon_aux, penalty, pi_mag = SignAwareStep.apply(
            t.sae_in.to(dtype),
            t.W_enc.to(dtype),
            t.b_gate,
            t.b_mag,
            t.r_mag.exp(),
            t.theta_pos,
            t.theta_neg,
            t.W_dec.to(dtype),
            t.W_aux.to(dtype),
            t.W_dec.norm(dim=1) if spec.sparsity == "l1" else None,
            spec,
        )
    return StepTerms(f, pi_mag, recon, recon_aux + t.b_aux, penalty)
