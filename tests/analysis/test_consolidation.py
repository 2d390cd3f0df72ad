import torch
from sae_lens import TopKSAE, TopKSAEConfig

from sae_lens_signaware.analysis.census import compute_census
from sae_lens_signaware.analysis.consolidation import (
    antipodal_pairs,
    consolidate_directions,
    pair_consolidation,
)
from tests.helpers import trained_like_sae


def _e(i: int, d: int = 8) -> torch.Tensor:
    return torch.eye(d)[i]


def test_antipodal_pairs_match_the_most_opposite_first_and_once() -> None:
    rows = torch.stack([_e(0), -_e(0), -0.9 * _e(0) + 0.44 * _e(1), _e(2)])
    assert antipodal_pairs(rows, -0.5) == [(0, 1)]
    assert antipodal_pairs(rows, -0.99) == [(0, 1)]
    assert antipodal_pairs(rows, -1.0) == []


def test_protocol_counts_absorbed_pairs_and_unsupported_latents() -> None:
    # non-negative: two antipodal pairs on axes 0 and 1, a lone direction on 2
    nonneg = torch.stack([_e(0), -_e(0), _e(1), -_e(1), _e(2)])
    # signed: axis 0 with both signs (absorbs the pair), axis 1 with only its
    # positive side (does not), axis 2 with both (one side supported), axis 3
    # with both (no side supported)
    signed = torch.stack([-2 * _e(0), _e(1), _e(2), _e(3)])
    sides = torch.tensor([[1, 1], [1, 0], [1, 1], [1, 1]], dtype=torch.bool)
    result = consolidate_directions(nonneg, signed, sides)
    assert result.pairs == [(0, 1), (2, 3)]
    assert result.absorbed == [(0, 1)]
    summary = result.summary()
    assert summary["n_both_signs"] == 3
    assert summary["absorbed_share_of_pairs"] == 0.5
    assert summary["paired_share_of_live_nonneg"] == 0.8
    assert result.n_pair_supported == 1
    assert result.n_supported == 1
    assert result.n_one_side_supported == 1
    assert result.n_unsupported == 1
    # covered: +e0, -e0 (latent 0), +e1 (latent 1), +e2 (latent 2); not -e1
    assert result.n_covered == 4


def test_pair_consolidation_uses_the_live_latents_of_both_saes() -> None:
    torch.manual_seed(0)
    signed = trained_like_sae(d_in=8, d_sae=16)
    nonneg = TopKSAE(TopKSAEConfig(d_in=8, d_sae=32, k=2))
    with torch.no_grad():
        nonneg.W_dec[16:] = -nonneg.W_dec[:16]
    acts = torch.randn(512, 8) * 3
    result = pair_consolidation(nonneg, signed, acts)
    assert result.n_live_nonneg == int(compute_census(nonneg, acts).alive.sum())
    assert result.n_live_signed == int(compute_census(signed, acts).alive.sum())
    assert 0 <= len(result.absorbed) <= len(result.pairs) <= result.n_live_nonneg // 2
