"""Adapt the sparsity coefficient so the running L0 settles on a target.

A proportional-integral controller in log space. With the batch error
``e = log(max(L0_batch, 0.1) / target_l0)``, each training step

    integral  <- clip(integral + gain * e, -12, 12)
    log_scale  = integral + proportional * e

and the next step's sparsity coefficient is ``coefficient * exp(log_scale)``.
A log-space error is scale-free (twice the target moves the coefficient by the
same factor at any target); the integral removes the steady-state error a fixed
coefficient leaves; the proportional term damps the overshoot that comes from
the thresholds' slow response. The state ``(integral, log_scale)`` is the SAE's
buffer ``l0_controller``, so a resumed run carries on where it stopped.
"""

import math

import torch

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
