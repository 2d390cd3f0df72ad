"""Where a signed SAE spends its L0, and which decoder directions it holds twice.

``sign_diagnosis``: per latent, the *rarer* sign is the one with fewer firings;
how the L0 and the reconstruction energy split between the signs, and what the
rarer-sign firings buy in explained variance against as many of the weakest
firings. ``antipodal_shares``: the share of live latents whose decoder row has
another live row pointing the opposite way. Issue 10's frame
(``benchmarks/quality_frame.py``) reports both for every run.
"""

from typing import Any

import torch
from sae_lens.saes.sae import SAE


@torch.no_grad()
def sign_diagnosis(sae: SAE[Any], acts: torch.Tensor) -> dict[str, float]:
    """Where a signed SAE spends its L0 (``diag_`` keys), on ``acts``.

    Per latent, the *rarer* sign is the one with fewer firings on ``acts``.
    ``diag_l0_rarer``: rarer-sign firings per token; ``diag_energy_rarer``: their
    share of the reconstruction energy ``sum ||f_ti d_i||^2``;
    ``diag_ev_without_rarer``: EV with the rarer-sign firings zeroed;
    ``diag_ev_without_weakest``: EV with the same number of the weakest firings
    (smallest ``|f_ti| ||d_i||``) zeroed instead; ``diag_ev``: EV as is.
    ``diag_rarer_cos``: mean over latents with both signs (>= 10 firings each)
    of the cosine between the mean input where the latent fires positive and
    the mean input where it fires negative, each minus the overall input mean
    (-1: the two signs see opposite inputs, one axis; 0: unrelated).
    """
    f = sae.encode(acts)
    total_var = (acts - acts.mean(0)).pow(2).sum()

    def ev(feats: torch.Tensor) -> float:
        return float(1 - (sae.decode(feats) - acts).pow(2).sum() / total_var)

    n_pos, n_neg = (f > 0).sum(0), (f < 0).sum(0)
    rarer_is_neg = n_neg <= n_pos
    rarer = torch.where(rarer_is_neg, f < 0, f > 0)
    n_rarer = int(rarer.sum())
    norms = sae.W_dec.norm(dim=-1)
    strength = f.abs() * norms
    energy = strength.pow(2)
    fired = f != 0
    weakest = torch.zeros_like(fired)
    if n_rarer:
        values = torch.where(fired, strength, torch.inf).flatten()
        idx = torch.topk(values, n_rarer, largest=False).indices
        weakest.view(-1)[idx] = True
    centred = acts - acts.mean(0)
    both = (n_pos >= 10) & (n_neg >= 10)
    mean_pos = (f > 0).T.float() @ centred / n_pos.clamp(min=1)[:, None]
    mean_neg = (f < 0).T.float() @ centred / n_neg.clamp(min=1)[:, None]
    cos = torch.nn.functional.cosine_similarity(mean_pos, mean_neg, dim=-1)
    return {
        "diag_ev": ev(f),
        "diag_l0": float(fired.sum()) / acts.shape[0],
        "diag_l0_rarer": n_rarer / acts.shape[0],
        "diag_energy_rarer": float(energy[rarer].sum() / energy.sum()),
        "diag_ev_without_rarer": ev(torch.where(rarer, 0.0, f)),
        "diag_ev_without_weakest": ev(torch.where(weakest, 0.0, f)),
        "diag_rarer_cos": float(cos[both].mean()) if both.any() else float("nan"),
        "diag_latents_both_10": int(both.sum()),
    }


@torch.no_grad()
def antipodal_shares(sae: SAE[Any], acts: torch.Tensor) -> dict[str, float]:
    """Share of live latents whose decoder direction has another live latent's
    direction at cosine below -0.5 / -0.7 (``diag_antipodal_05`` / ``_07``).

    For a non-negative SAE at 2H this counts the antipodal pairs (+v, -v) that a
    signed latent could absorb into one; for a signed SAE it counts directions it
    holds twice. Random directions in d = 128 have cosines of about +-0.09
    (one standard deviation), so -0.5 is far beyond chance and -0.7 is a
    near-exact pair."""
    alive = torch.zeros(sae.W_dec.shape[0], dtype=torch.bool)
    for start in range(0, acts.shape[0], 8192):
        alive |= (sae.encode(acts[start : start + 8192]) != 0).any(0)
    d = torch.nn.functional.normalize(sae.W_dec[alive], dim=-1)
    cos = d @ d.T
    cos.fill_diagonal_(1.0)
    lowest = cos.min(dim=-1).values
    n = max(int(alive.sum()), 1)
    return {
        "diag_antipodal_05": float((lowest < -0.5).sum()) / n,
        "diag_antipodal_07": float((lowest < -0.7).sum()) / n,
    }
