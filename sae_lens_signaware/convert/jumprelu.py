"""Exact conversion of a Sign-Aware Gated SAE into SAELens's built-in ``jumprelu``.

Tools built for non-negative dictionaries (``run_evals``'s sparsity statistics,
feature dashboards, Neuronpedia uploads) can then read a signed dictionary.

Derivation
----------
For latent ``i`` write ``w = W_enc[:, i]``, ``r = exp(r_mag[i]) > 0`` and the
centred input ``x~`` (``x - b_dec`` when ``apply_b_dec_to_input``, else ``x``)::

    pi_gate = x~ . w + b_gate          pi_mag = x~ . (r w) + b_mag
    f       = H(pi_gate - theta_pos) relu(pi_mag) - H(-pi_gate - theta_neg) relu(-pi_mag)

The gate and the magnitude share ``w``, so they are affinely related with a
positive slope: ``pi_mag = r (pi_gate - b_gate) + b_mag``. A gate condition on
``pi_gate`` is therefore a threshold on ``pi_mag``::

    pi_gate >  theta_pos   <=>   pi_mag > t_pos = r (theta_pos - b_gate) + b_mag
    -pi_gate > theta_neg   <=>  -pi_mag > t_neg = r (theta_neg + b_gate) - b_mag

SAELens's ``JumpReLUSAE`` computes ``relu(h) * (h > threshold)`` with one
pre-activation ``h = x~ @ W_enc + b_enc`` per latent. Two JumpReLU latents per
signed latent reproduce it exactly:

==========================  ===========  ========  =====================  ===========
JumpReLU latent             W_enc column  b_enc     threshold              W_dec row
==========================  ===========  ========  =====================  ===========
``i``  (positive part)      ``r w``       ``b_mag``   ``max(t_pos, 0)``     ``W_dec[i]``
``d_sae + i`` (negative)    ``-r w``      ``-b_mag``  ``max(t_neg, 0)``     ``-W_dec[i]``
==========================  ===========  ========  =====================  ===========

so ``h_pos = pi_mag`` and ``h_neg = -pi_mag``. Clamping a negative threshold at
0 changes nothing: where ``t < h <= 0`` the ReLU already gives 0, and where
``h > 0 > t`` both masks are open. Then ``acts[:, i] = relu(f_i)``,
``acts[:, d_sae + i] = relu(-f_i)`` and ``acts @ W_dec' = f @ W_dec``, so the
reconstructions agree (to float rounding: the thresholds are computed in
float64 and the gate decision can only differ for pre-activations within
rounding of the threshold).

With ``sign_encoders="per_sign"`` the negative side has its own detector
``pi_neg = x~ . w- + b_gate-`` and magnitude ``m_neg = x~ . (r- w-) + b_mag-``,
a positive detector of the negative side, so the same move gives its latent
``W_enc`` column ``r- w-``, ``b_enc`` ``b_mag-`` and threshold
``max(r- (theta_neg - b_gate-) + b_mag-, 0)``, with decoder row ``-W_dec[i]``;
both sides may fire on one token, as two JumpReLU latents do.

``b_dec``, ``apply_b_dec_to_input``, ``normalize_activations`` and
``reshape_activations`` are copied unchanged, so ``process_sae_in`` and
``decode`` do the same thing in both models. With ``two_sided=False`` the
negative side never fires, so only the ``d_sae`` positive latents are kept (no
dead half). The metadata is copied, with ``source_architecture`` and
``jumprelu_layout`` added; ``neuronpedia_id`` is the one given (the source's
refers to other latent indices).
"""

import torch
from sae_lens import JumpReLUSAE, JumpReLUSAEConfig

from sae_lens_signaware.convert.building import check_finite_parameters, converted_sae
from sae_lens_signaware.saes import (
    ARCHITECTURE,
    SignAwareGatedSAE,
    SignAwareGatedTrainingSAE,
)

LAYOUT_TWO_SIDED = "positive[0:d_sae], negative[d_sae:2*d_sae]"
LAYOUT_ONE_SIDED = "positive[0:d_sae]"

SignAwareSAE = SignAwareGatedSAE | SignAwareGatedTrainingSAE


def _moved_threshold(
    theta: torch.Tensor, r_mag: torch.Tensor, b_gate: torch.Tensor, b_mag: torch.Tensor
) -> torch.Tensor:
    """``r (theta - b_gate) + b_mag`` in float64: a gate threshold moved onto
    the magnitude that shares its encoder column."""
    r = r_mag.detach().double().exp()
    if not (torch.isfinite(r).all() and (r > 0).all()):
        raise ValueError(
            "exp(r_mag) must be finite and > 0 for every latent to convert the gate "
            "into a JumpReLU threshold"
        )
    return (
        r * (theta.detach().double() - b_gate.detach().double())
        + b_mag.detach().double()
    )


def jumprelu_thresholds(sae: SignAwareSAE) -> tuple[torch.Tensor, torch.Tensor]:
    """``(t_pos, t_neg)``: the gate thresholds moved onto the magnitudes
    (``+-pi_mag``, or ``m_neg`` per-sign), in float64, before clamping at 0."""
    theta_pos, theta_neg = sae.thresholds()
    t_pos = _moved_threshold(theta_pos, sae.r_mag, sae.b_gate, sae.b_mag)
    if sae.per_sign:
        t_neg = _moved_threshold(
            theta_neg, sae.r_mag_neg, sae.b_gate_neg, sae.b_mag_neg
        )
    else:  # -pi_gate > theta_neg  <=>  -pi_mag > r (theta_neg + b_gate) - b_mag
        t_neg = _moved_threshold(theta_neg, sae.r_mag, -sae.b_gate, -sae.b_mag)
    return t_pos, t_neg


def to_jumprelu(sae: SignAwareSAE, *, neuronpedia_id: str | None = None) -> JumpReLUSAE:
    """A ``JumpReLUSAE`` whose reconstructions equal ``sae``'s and whose
    activations are ``sae``'s split into positive and negative parts.

    Two-sided: ``2 * d_sae`` latents, latent ``i``'s positive part at ``i`` and
    its negative part (as a positive number) at ``d_sae + i``; see
    :func:`split_signed` and :func:`merge_split`. One-sided: ``d_sae`` latents,
    the same indices. The derivation is in this module's docstring.
    """
    if sae.cfg.architecture() != ARCHITECTURE:
        raise TypeError(
            f"expected a {ARCHITECTURE!r} SAE, got {sae.cfg.architecture()!r}"
        )
    check_finite_parameters(sae)
    two_sided = bool(sae.cfg.two_sided)
    d_sae, dtype = sae.cfg.d_sae, sae.W_enc.dtype
    t_pos, t_neg = jumprelu_thresholds(sae)
    # The source's own ops for the magnitude weights: h_pos is pi_mag up to the
    # matmul's summation order (bit for bit on CPU in the tests).
    W_mag = (sae.W_enc * sae.r_mag.exp()).detach()
    b_mag = sae.b_mag.detach()
    W_dec = sae.W_dec.detach()
    if sae.per_sign:
        W_neg = (sae.W_enc_neg * sae.r_mag_neg.exp()).detach()
        b_neg = sae.b_mag_neg.detach()
    else:
        W_neg, b_neg = -W_mag, -b_mag
    if two_sided:
        W_enc = torch.cat([W_mag, W_neg], dim=1)
        b_enc = torch.cat([b_mag, b_neg])
        threshold = torch.cat([t_pos, t_neg]).clamp(min=0.0)
        W_dec = torch.cat([W_dec, -W_dec], dim=0)
    else:
        W_enc, b_enc, threshold = W_mag, b_mag, t_pos.clamp(min=0.0)

    state = {
        "W_enc": W_enc.to(dtype).contiguous(),
        "b_enc": b_enc.to(dtype),
        "threshold": threshold.to(dtype),
        "W_dec": W_dec.to(dtype).contiguous(),
        "b_dec": sae.b_dec.detach().to(dtype).clone(),
    }
    return converted_sae(
        sae,
        JumpReLUSAEConfig,
        JumpReLUSAE,
        {"architecture": "jumprelu", "d_sae": W_enc.shape[1]},
        {
            "source_architecture": ARCHITECTURE,
            "source_d_sae": d_sae,
            "source_two_sided": two_sided,
            "source_sign_encoders": sae.cfg.sign_encoders,
            "jumprelu_layout": LAYOUT_TWO_SIDED if two_sided else LAYOUT_ONE_SIDED,
            "neuronpedia_id": neuronpedia_id,
        },
        state,
    )


def split_signed(feature_acts: torch.Tensor, two_sided: bool = True) -> torch.Tensor:
    """Signed activations in the JumpReLU export's layout: ``[relu(f), relu(-f)]``
    (two-sided), or ``f`` itself (one-sided, where ``f >= 0``)."""
    if not two_sided:
        return feature_acts
    return torch.cat([feature_acts.clamp(min=0), (-feature_acts).clamp(min=0)], dim=-1)


def merge_split(jumprelu_acts: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`split_signed` for the two-sided layout."""
    d_sae = jumprelu_acts.shape[-1] // 2
    return jumprelu_acts[..., :d_sae] - jumprelu_acts[..., d_sae:]


def jumprelu_index(latent: int, sign: int, d_sae: int) -> int:
    """Index in the two-sided export of signed ``latent``'s ``sign`` (+1 or -1) part."""
    if sign not in (1, -1):
        raise ValueError(f"sign must be +1 or -1, got {sign!r}")
    if not 0 <= latent < d_sae:
        raise IndexError(f"latent {latent} out of range for d_sae={d_sae}")
    return latent if sign == 1 else d_sae + latent
