"""The Bi-Jump-ReLU and its two-sided gate.

For one latent with gate pre-activation ``pi_gate``, magnitude pre-activation
``pi_mag`` and dead zone ``[-theta_neg, theta_pos]`` (both >= 0)::

    g_pos = H(pi_gate - theta_pos)          g_neg = H(-pi_gate - theta_neg)
    f     = g_pos * relu(pi_mag) - g_neg * relu(-pi_mag)            (Bi-Jump-ReLU)
    s     = relu(pi_gate - theta_pos) - relu(-pi_gate - theta_neg)  (soft gate)

The Heaviside steps have no useful derivative. ``two_sided_gates`` uses
SAELens's JumpReLU estimator (a rectangle kernel of width ``bandwidth``) for
the thresholds: d g_pos / d theta_pos = -K((pi_gate - theta_pos) / eps) / eps,
and likewise for the negative side. Everything that multiplies a gate (the
reconstruction through ``f``, an L0 penalty ``g_pos + g_neg``) therefore
passes a gradient to the thresholds. With ``ste_to_input`` (the training
config's default, ``SignAwareGatedTrainingSAEConfig.ste_to_input=True``)
``pi_gate`` gets the estimator too (d g_pos / d pi_gate = K / eps); without
it (these functions' own default, as SAELens's ``Step``, and ``PLAIN_SETTINGS``)
``pi_gate`` learns only from the soft gate's losses, as in a Gated SAE.

These are the readable reference: ``fused_step=False`` trains with them, and
``saes/fused.py`` computes the same gates, ``f``, ``s`` and gradients in one
autograd function (``tests/unit/test_fused_step.py`` compares the two).
"""

import torch
from sae_lens.saes.jumprelu_sae import Step


def two_sided_gates(
    pi_gate: torch.Tensor,
    threshold_pos: torch.Tensor,
    threshold_neg: torch.Tensor,
    bandwidth: float,
    ste_to_input: bool = False,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Return ``(g_pos, g_neg)`` with straight-through threshold gradients
    (and, with ``ste_to_input``, the negated estimator to ``pi_gate``)."""
    g_pos = Step.apply(pi_gate, threshold_pos, bandwidth, ste_to_input)
    g_neg = Step.apply(-pi_gate, threshold_neg, bandwidth, ste_to_input)
    return g_pos, g_neg  # type: ignore[return-value]


def one_sided_gate(
    pi_gate: torch.Tensor,
    threshold_pos: torch.Tensor,
    bandwidth: float,
    ste_to_input: bool = False,
) -> torch.Tensor:
    """``H(pi_gate - theta_pos)``: the Gated SAE's gate when ``theta_pos = 0``."""
    return Step.apply(pi_gate, threshold_pos, bandwidth, ste_to_input)  # type: ignore[return-value]


def bi_jump_relu(
    g_pos: torch.Tensor, g_neg: torch.Tensor, pi_mag: torch.Tensor
) -> torch.Tensor:
    """Signed latent ``g_pos * relu(pi_mag) - g_neg * relu(-pi_mag)``."""
    return g_pos * torch.relu(pi_mag) - g_neg * torch.relu(-pi_mag)


def soft_two_sided_gate(
    pi_gate: torch.Tensor, threshold_pos: torch.Tensor, threshold_neg: torch.Tensor
) -> torch.Tensor:
    """``relu(pi_gate - theta_pos) - relu(-pi_gate - theta_neg)``: zero in the dead zone."""
    return torch.relu(pi_gate - threshold_pos) - torch.relu(-pi_gate - threshold_neg)
