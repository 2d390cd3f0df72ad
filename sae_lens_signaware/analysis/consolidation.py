"""The paper's pair-consolidation protocol on real activations.

A non-negative SAE at width 2H can spend two latents on one axis, ``+u`` and
``-u`` (an *antipodal pair*); a signed latent at width H can hold that axis
once. Given the non-negative SAE, the signed SAE and activations::

    live    = latents that fire on the activations (either SAE)
    u_i     = W_dec[i] / ||W_dec[i]||            (non-negative SAE, live)
    v_k     = W_dec[k] / ||W_dec[k]||            (signed SAE)
    pairs   = greedy matching of live (i, j) with cos(u_i, u_j) < pair_cut,
              most opposite first, each latent in at most one pair
    sides_k = the signs with which signed latent k fired at least min_count times

A pair ``(i, j)`` is *absorbed* when one signed latent ``k`` that fires with both
signs covers it: ``cos(v_k, u_i) >= match_cut`` and ``cos(-v_k, u_j) >=
match_cut`` (or ``i`` and ``j`` swapped). A side ``s`` of a signed latent is
*supported* when some live ``u_i`` has ``cos(s v_k, u_i) >= match_cut``; a
both-signs latent is *pair-supported* when its two sides are supported by the
two members of one pair, *supported* when both sides are supported at all,
and otherwise has one side or no side supported. A live ``u_i`` is *covered*
when some side of some signed latent matches it (``cos(s v_k, u_i) >=
match_cut``): how much of the 2H dictionary the H latents reproduce.

Random unit vectors in ``d`` dimensions have cosines with a standard deviation
of about ``1 / sqrt(d)`` (0.088 at d = 128), so the default cuts (-0.5 for a
pair, 0.7 for a match) are 5.7 and 8 standard deviations from chance.
"""

from dataclasses import dataclass
from typing import Any

import torch
from sae_lens.saes.sae import SAE

from sae_lens_signaware.analysis.census import DEFAULT_MIN_COUNT, compute_census

DEFAULT_PAIR_CUT = -0.5
DEFAULT_MATCH_CUT = 0.7


def antipodal_pairs(directions: torch.Tensor, cut: float) -> list[tuple[int, int]]:
    """Greedy matching of rows with cosine below ``cut``, most opposite first."""
    u = torch.nn.functional.normalize(directions.float(), dim=-1)
    cos = u @ u.T
    i, j = torch.triu_indices(len(u), len(u), offset=1)
    values = cos[i, j]
    below = values < cut
    order = torch.argsort(values[below])
    pairs: list[tuple[int, int]] = []
    used: set[int] = set()
    for a, b in zip(i[below][order].tolist(), j[below][order].tolist(), strict=True):
        if a not in used and b not in used:
            pairs.append((a, b))
            used.update((a, b))
    return pairs


@dataclass
class Consolidation:
    """Counts of the protocol (see the module docstring); indices are into the
    live latents of each SAE."""

    n_live_nonneg: int
    pairs: list[tuple[int, int]]
    absorbed: list[tuple[int, int]]
    n_live_signed: int
    n_both_signs: int
    n_pair_supported: int
    n_supported: int
    n_one_side_supported: int
    n_unsupported: int
    n_covered: int = 0

    def summary(self) -> dict[str, Any]:
        n_pairs = len(self.pairs)
        both = max(self.n_both_signs, 1)
        return {
            "n_live_nonneg": self.n_live_nonneg,
            "n_pairs": n_pairs,
            "paired_share_of_live_nonneg": 2 * n_pairs / max(self.n_live_nonneg, 1),
            "n_absorbed": len(self.absorbed),
            "absorbed_share_of_pairs": len(self.absorbed) / max(n_pairs, 1),
            "n_live_signed": self.n_live_signed,
            "n_both_signs": self.n_both_signs,
            "pair_supported_share": self.n_pair_supported / both,
            "supported_share": self.n_supported / both,
            "one_side_supported_share": self.n_one_side_supported / both,
            "unsupported_share": self.n_unsupported / both,
            "covered_share_of_live_nonneg": self.n_covered / max(self.n_live_nonneg, 1),
        }


def consolidate_directions(
    nonneg: torch.Tensor,
    signed: torch.Tensor,
    signed_sides: torch.Tensor,
    pair_cut: float = DEFAULT_PAIR_CUT,
    match_cut: float = DEFAULT_MATCH_CUT,
) -> Consolidation:
    """The protocol on decoder rows: ``nonneg`` ``[n, d]`` (live latents of the
    non-negative SAE), ``signed`` ``[m, d]`` (live latents of the signed SAE) and
    ``signed_sides`` ``[m, 2]`` bool (fired positive / negative often enough)."""
    u = torch.nn.functional.normalize(nonneg.float(), dim=-1)
    v = torch.nn.functional.normalize(signed.float(), dim=-1)
    pairs = antipodal_pairs(u, pair_cut)
    cos = v @ u.T  # [m, n]: cos(v_k, u_i); cos(-v_k, u_i) = -cos
    pos_match = (cos >= match_cut) & signed_sides[:, :1]
    neg_match = (-cos >= match_cut) & signed_sides[:, 1:]
    both = signed_sides.all(dim=1)
    absorbed = [
        (i, j)
        for i, j in pairs
        if bool(
            (both & pos_match[:, i] & neg_match[:, j]).any()
            or (both & pos_match[:, j] & neg_match[:, i]).any()
        )
    ]
    pos_ok, neg_ok = pos_match.any(dim=1), neg_match.any(dim=1)
    pair_ok = torch.zeros_like(both)
    for i, j in pairs:
        pair_ok |= (pos_match[:, i] & neg_match[:, j]) | (
            pos_match[:, j] & neg_match[:, i]
        )
    pair_ok &= both
    supported = both & pos_ok & neg_ok
    one_side = both & (pos_ok ^ neg_ok)
    return Consolidation(
        n_live_nonneg=len(u),
        pairs=pairs,
        absorbed=absorbed,
        n_live_signed=len(v),
        n_both_signs=int(both.sum()),
        n_pair_supported=int(pair_ok.sum()),
        n_supported=int(supported.sum()),
        n_one_side_supported=int(one_side.sum()),
        n_unsupported=int((both & ~pos_ok & ~neg_ok).sum()),
        n_covered=int((pos_match | neg_match).any(dim=0).sum()),
    )


@torch.no_grad()
def live_rows(sae: SAE[Any], acts: torch.Tensor) -> torch.Tensor:
    """The decoder rows of the latents of ``sae`` that fire on ``acts``."""
    return sae.W_dec[compute_census(sae, acts).alive]


@torch.no_grad()
def live_signed_rows(
    sae: SAE[Any], acts: torch.Tensor, min_count: int = DEFAULT_MIN_COUNT
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(rows, sides)`` of the latents of ``sae`` that fire on ``acts``: their
    decoder rows, and whether each fired positive / negative ``min_count`` times."""
    census = compute_census(sae, acts)
    sides = torch.stack([census.n_pos >= min_count, census.n_neg >= min_count], dim=1)
    return sae.W_dec[census.alive], sides[census.alive]


def pair_consolidation(
    nonneg_sae: SAE[Any],
    signed_sae: SAE[Any],
    acts: torch.Tensor,
    pair_cut: float = DEFAULT_PAIR_CUT,
    match_cut: float = DEFAULT_MATCH_CUT,
    min_count: int = DEFAULT_MIN_COUNT,
) -> Consolidation:
    """Run the protocol with each SAE's live latents and sides measured on ``acts``
    (for several cuts, take ``live_rows``/``live_signed_rows`` once and call
    ``consolidate_directions`` per cut)."""
    signed, sides = live_signed_rows(signed_sae, acts, min_count)
    return consolidate_directions(
        live_rows(nonneg_sae, acts), signed, sides, pair_cut, match_cut
    )
