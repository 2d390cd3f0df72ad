"""The reference training-step path (``fused_step=False``): the readable ops.

The step runs as SAELens's own ``TrainingSAE.training_forward_pass`` does: the
SAE's ``encode_with_hidden_pre`` (``saes/bi_jump_relu.py``'s Bi-Jump-ReLU with
the straight-through estimator), ``decode``, the MSE, then
``calculate_aux_loss``, which calls ``loss_terms`` here on the input processed
again, as SAELens's Gated SAE does (so that with ``PLAIN_SETTINGS`` and
``two_sided=False`` every gradient is Gated's bit for bit)::

    pi_gate = x~ @ W_enc + b_gate
    s       = relu(pi_gate - theta_pos) - relu(-pi_gate - theta_neg)   (soft gate)
    penalty = sum_i (g_pos + g_neg)  ("l0")   or   sum_i ||W_dec[i]|| |s_i|  ("l1")
    aux     = s @ W_aux + b_aux

(one-sided: the negative terms are absent). ``fused_step.step_terms`` computes
the same terms, with ``f`` and ``f @ W_dec``, in one autograd node;
``tests/saes/test_fused_step.py`` compares the two paths.
"""

import torch

from sae_lens_signaware.saes.bi_jump_relu import (
    one_sided_gate,
    soft_two_sided_gate,
    two_sided_gates,
)
from sae_lens_signaware.saes.step_types import StepSpec, StepTensors


def loss_terms(t: StepTensors, spec: StepSpec) -> tuple[torch.Tensor, torch.Tensor]:
    """``(penalty [B], aux_recon [B, d_in])`` with autograd through the reference ops."""
    pi_gate = t.sae_in @ t.W_enc + t.b_gate
    theta_pos = t.theta_pos.to(pi_gate.dtype)
    theta_neg = t.theta_neg.to(pi_gate.dtype)
    if spec.two_sided:
        soft = soft_two_sided_gate(pi_gate, theta_pos, theta_neg)
    else:
        soft = torch.relu(pi_gate - theta_pos)
    if spec.sparsity == "l1":
        penalty = (soft.abs() * t.W_dec.norm(dim=1)).sum(dim=-1)
    elif spec.two_sided:
        g_pos, g_neg = two_sided_gates(
            pi_gate, theta_pos, theta_neg, spec.bandwidth, spec.ste_to_input
        )
        penalty = (g_pos + g_neg).sum(dim=-1)
    else:
        gate = one_sided_gate(pi_gate, theta_pos, spec.bandwidth, spec.ste_to_input)
        penalty = gate.sum(dim=-1)
    return penalty, soft @ t.W_aux + t.b_aux
