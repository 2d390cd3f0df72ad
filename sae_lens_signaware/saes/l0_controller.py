"""Adapt a sparsity coefficient so the running L0 settles on a target.

A proportional-integral controller in log space. With the batch error
``e = log(max(L0_batch, 0.1) / target_l0)``, each training step

    integral  <- clip(integral + gain * e, -12, 12)
    log_scale  = integral + proportional * e

and the next step's sparsity coefficient is ``coefficient * exp(log_scale)``.
A log-space error is scale-free (twice the target moves the coefficient by the
same factor at any target); the integral removes the steady-state error a fixed
coefficient leaves; the proportional term damps the overshoot that comes from
the thresholds' slow response.

The state ``(integral, log_scale)`` is a 2-vector: the SA-GSAE keeps it in its
buffer ``l0_controller`` (so a resumed run carries on where it stopped), and
``training.trainer.SignAwareTrainer`` keeps one for an architecture that has
no controller of its own. Both go through ``scale_coefficients`` and
``observe_l0`` below.
"""

import math
from collections.abc import Mapping

import torch

from sae_lens_signaware.distributed import mean_over_ranks

LOG_SCALE_LIMIT = 12.0
MIN_L0 = 0.1


@torch.no_grad()
def update_controller(
    state: torch.Tensor,
    batch_l0: float,
    target_l0: float,
    gain: float,
    proportional: float,
) -> None:
    """One controller step, in place on ``state = [integral, log_scale]``."""
    error = math.log(max(batch_l0, MIN_L0) / target_l0)
    state[0] = (state[0] + gain * error).clamp(-LOG_SCALE_LIMIT, LOG_SCALE_LIMIT)
    state[1] = (state[0] + proportional * error).clamp(
        -LOG_SCALE_LIMIT, LOG_SCALE_LIMIT
    )


def controller_scale(state: torch.Tensor) -> float:
    """``exp(log_scale)``: the factor on the controlled coefficient."""
    return float(state[1].exp())


def scale_coefficients(
    state: torch.Tensor, coefficients: Mapping[str, float], names: tuple[str, ...]
) -> dict[str, float]:
    """``coefficients`` with each of ``names`` multiplied by ``exp(log_scale)``."""
    factor = controller_scale(state)
    return {k: v * factor if k in names else v for k, v in coefficients.items()}


@torch.no_grad()
def observe_l0(
    state: torch.Tensor,
    feature_acts: torch.Tensor,
    target_l0: float,
    gain: float,
    proportional: float,
) -> float:
    """Update ``state`` from a batch of latents (any sign counts as firing);
    return the new ``exp(log_scale)`` (logged as ``sparsity_scale``).

    Under data-parallel training the batch L0 is the mean over ranks, so every
    rank's controller takes the same step."""
    batch_l0 = float((feature_acts != 0).sum(-1, dtype=torch.float32).mean())
    batch_l0 = mean_over_ranks(batch_l0)
    update_controller(state, batch_l0, target_l0, gain, proportional)
    return controller_scale(state)
