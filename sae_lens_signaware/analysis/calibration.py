"""Calibration of signed latents against the input's projection on their direction.

With ``x~_t`` the SAE's preprocessed, centred input (run-time normalisation, then
minus ``b_dec``) and ``u_i = W_dec[i] / ||W_dec[i]||``, latent ``i``'s *projection*
on token ``t`` is ``p_ti = x~_t . u_i``. For each sign ``s`` in ``{+, -}``, over the
tokens ``T_i^s = {t : sign(f_ti) = s}`` we fit ``f_ti ~ a + b p_ti`` by least squares::

    b = cov(p, f) / var(p)          a = mean(f) - b mean(p)
    r = cov(p, f) / sqrt(var(p) var(f))

and report ``gain = b ||W_dec[i]||``: the length the latent writes along ``u_i``
per unit of input projection. ``gain = 1`` means the latent reconstructs the
input's component along its direction exactly (if the other latents add nothing
there); ``gain < 1`` is shrinkage. Comparing the two signs shows whether a latent
is as faithful on its negative side as on its positive one.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from sae_lens.saes.sae import SAE

SIGNS = ("pos", "neg")
_STATS = ("n", "p", "f", "pp", "ff", "pf")


@dataclass
class SignFit:
    """Least-squares fits per latent for one sign (tensors of shape ``(n_latents,)``)."""

    n: torch.Tensor
    slope: torch.Tensor
    intercept: torch.Tensor
    r: torch.Tensor
    gain: torch.Tensor


@dataclass
class Calibration:
    latents: list[int]
    pos: SignFit
    neg: SignFit

    def latent(self, i: int) -> dict[str, dict[str, float]]:
        """Fits of latent ``i`` (an index into the dictionary) as plain floats."""
        k = self.latents.index(i)
        return {
            sign: {
                "n": int(fit.n[k]),
                "slope": float(fit.slope[k]),
                "intercept": float(fit.intercept[k]),
                "r": float(fit.r[k]),
                "gain": float(fit.gain[k]),
            }
            for sign, fit in (("pos", self.pos), ("neg", self.neg))
        }


def _fit(stats: dict[str, torch.Tensor], decoder_norms: torch.Tensor) -> SignFit:
    n = stats["n"]
    m = n.clamp(min=1)
    mean_p, mean_f = stats["p"] / m, stats["f"] / m
    var_p = stats["pp"] / m - mean_p**2
    var_f = stats["ff"] / m - mean_f**2
    cov = stats["pf"] / m - mean_p * mean_f
    ok = (n >= 2) & (var_p > 1e-12 * (stats["pp"] / m).clamp(min=1e-30))
    nan = torch.full_like(cov, float("nan"))
    slope = torch.where(ok, cov / var_p.clamp(min=1e-30), nan)
    r = torch.where(
        ok & (var_f > 0), cov / (var_p * var_f).clamp(min=1e-60).sqrt(), nan
    )
    return SignFit(
        n=n.long(),
        slope=slope,
        intercept=mean_f - slope * mean_p,
        r=r,
        gain=slope * decoder_norms,
    )


def calibration_from_projections(
    batches: Iterable[tuple[torch.Tensor, torch.Tensor]],
    decoder_norms: torch.Tensor,
    latents: Sequence[int],
) -> Calibration:
    """Fit from ``(f, p)`` batch pairs, each ``(n_tokens, n_latents)``: signed values
    and projections of the selected latents; ``decoder_norms`` is ``(n_latents,)``."""
    sums = {
        s: {k: torch.zeros(len(latents), dtype=torch.float64) for k in _STATS}
        for s in SIGNS
    }
    for f, p in batches:
        f, p = f.detach().double().cpu(), p.detach().double().cpu()
        for sign, mask in (("pos", f > 0), ("neg", f < 0)):
            w = mask.double()
            acc = sums[sign]
            acc["n"] += w.sum(0)
            acc["p"] += (w * p).sum(0)
            acc["f"] += (w * f).sum(0)
            acc["pp"] += (w * p * p).sum(0)
            acc["ff"] += (w * f * f).sum(0)
            acc["pf"] += (w * p * f).sum(0)
    norms = decoder_norms.detach().double().cpu()
    return Calibration(
        list(latents), _fit(sums["pos"], norms), _fit(sums["neg"], norms)
    )


def centred_input(sae: SAE[Any], x: torch.Tensor) -> torch.Tensor:
    """``x~``: the SAE's input preprocessing, always ending with ``- b_dec``."""
    sae_in = sae.process_sae_in(x)
    if not sae.cfg.apply_b_dec_to_input:
        sae_in = sae_in - sae.b_dec
    return sae_in


@torch.no_grad()
def compute_calibration(
    sae: SAE[Any],
    acts: torch.Tensor,
    latents: Sequence[int] | None = None,
    batch_size: int = 8192,
) -> Calibration:
    """Per-sign calibration fits of ``latents`` (default: all) over hook activations."""
    idx = list(range(sae.cfg.d_sae)) if latents is None else [int(i) for i in latents]
    W = sae.W_dec[idx]
    norms = W.norm(dim=-1)
    units = W / norms.clamp(min=1e-12)[:, None]
    acts = acts.reshape(-1, acts.shape[-1])

    def batches() -> Iterable[tuple[torch.Tensor, torch.Tensor]]:
        for start in range(0, acts.shape[0], batch_size):
            x = acts[start : start + batch_size].to(sae.device)
            f = sae.encode(x)[:, idx]
            yield f, centred_input(sae, x) @ units.T

    return calibration_from_projections(batches(), norms, idx)
