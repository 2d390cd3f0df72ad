import math

import pytest
import torch

from sae_lens_signaware import SignAwareGatedSAE, SignAwareGatedSAEConfig
from sae_lens_signaware.analysis.calibration import (
    calibration_from_projections,
    compute_calibration,
)
from sae_lens_signaware.analysis.census import compute_census


def test_slopes_per_sign_recovered_exactly_from_synthetic_data() -> None:
    g = torch.Generator().manual_seed(0)
    p = torch.randn(500, 3, generator=g, dtype=torch.float64) * 2
    slopes_pos, slopes_neg = (
        torch.tensor([2.0, 0.5, 1.0]),
        torch.tensor([0.25, 3.0, 1.0]),
    )
    f = torch.where(p > 0, 0.5 + slopes_pos * p, -1.0 + slopes_neg * p)
    f = torch.where(p.abs() < 0.3, 0.0, f)  # a dead zone
    f = torch.where((p > 0) == (f > 0), f, 0.0)  # keep each side's sign
    norms = torch.tensor([1.0, 2.0, 4.0])
    cal = calibration_from_projections(
        [(f[:200], p[:200]), (f[200:], p[200:])], norms, [7, 8, 9]
    )
    assert torch.allclose(cal.pos.slope, slopes_pos.double(), atol=1e-9)
    assert torch.allclose(cal.neg.slope, slopes_neg.double(), atol=1e-9)
    assert torch.allclose(
        cal.pos.intercept, torch.full((3,), 0.5, dtype=torch.float64), atol=1e-9
    )
    assert torch.allclose(
        cal.neg.intercept, torch.full((3,), -1.0, dtype=torch.float64), atol=1e-9
    )
    assert torch.allclose(cal.pos.r, torch.ones(3, dtype=torch.float64))
    assert torch.allclose(cal.neg.gain, slopes_neg.double() * norms.double())
    assert cal.pos.n.tolist() == (f > 0).sum(0).tolist()
    row = cal.latent(8)
    assert row["neg"]["slope"] == pytest.approx(3.0)
    assert row["pos"]["gain"] == pytest.approx(1.0)


def test_too_few_points_give_nan() -> None:
    f = torch.tensor([[1.0], [0.0]])
    p = torch.tensor([[2.0], [1.0]])
    cal = calibration_from_projections([(f, p)], torch.ones(1), [0])
    assert cal.pos.n.item() == 1 and math.isnan(cal.pos.slope.item())
    assert cal.neg.n.item() == 0 and math.isnan(cal.neg.slope.item())


def test_hand_built_sae_has_its_magnitude_gain_on_both_sides() -> None:
    """W_enc = I, W_dec = 2 I, r_mag = log 3, b_mag = 0.2: where it fires,
    f_i = 3 (x - b_dec)_i + 0.2 and the projection on the unit direction is (x - b_dec)_i."""
    sae = SignAwareGatedSAE(SignAwareGatedSAEConfig(d_in=4, d_sae=4))
    with torch.no_grad():
        sae.W_enc.copy_(torch.eye(4))
        sae.W_dec.copy_(2 * torch.eye(4))
        sae.b_dec.copy_(torch.tensor([0.5, -0.5, 1.0, 0.0]))
        sae.r_mag.fill_(math.log(3.0))
        sae.b_mag.fill_(0.2)
        sae.threshold_pos.fill_(0.5)
        sae.threshold_neg.fill_(0.5)
    x = torch.randn(2000, 4, generator=torch.Generator().manual_seed(1)) * 2
    cal = compute_calibration(sae, x, latents=[0, 2, 3], batch_size=333)
    for fit in (cal.pos, cal.neg):
        assert torch.allclose(
            fit.slope, torch.full((3,), 3.0, dtype=torch.float64), atol=1e-5
        )
        assert torch.allclose(
            fit.intercept, torch.full((3,), 0.2, dtype=torch.float64), atol=1e-5
        )
        assert torch.allclose(
            fit.gain, torch.full((3,), 6.0, dtype=torch.float64), atol=1e-5
        )


def test_trained_sae_fits_cover_the_census_counts(signed_sae, mlp_out_acts) -> None:
    val = mlp_out_acts["validation"]
    census = compute_census(signed_sae, val)
    latents = census.ranking()[:5].tolist()
    cal = compute_calibration(signed_sae, val, latents)
    assert cal.pos.n.tolist() == census.n_pos[latents].tolist()
    assert cal.neg.n.tolist() == census.n_neg[latents].tolist()
    # each side's value grows with the input's projection on its direction
    assert (cal.pos.slope > 0).all() and (cal.neg.slope > 0).all()
