import pytest
import torch

from sae_lens_signaware import SignAwareGatedSAE, SignAwareGatedSAEConfig
from sae_lens_signaware.analysis.census import census_from_feature_acts, compute_census
from sae_lens_signaware.evaluation import reconstruction_metrics

# 6 tokens x 4 latents: latent 0 bipolar (3+, 2-), 1 positive only, 2 dead, 3 one negative.
F = torch.tensor(
    [
        [1.0, 2.0, 0.0, 0.0],
        [-2.0, 1.0, 0.0, 0.0],
        [3.0, 0.0, 0.0, -1.0],
        [-1.0, 0.0, 0.0, 0.0],
        [2.0, 0.0, 0.0, 0.0],
        [0.0, 0.0, 0.0, 0.0],
    ]
)
W_DEC = torch.diag(torch.tensor([2.0, 1.0, 1.0, 3.0]))  # squared norms 4, 1, 1, 9


def test_counts_rates_balance_and_energy() -> None:
    c = census_from_feature_acts(F, W_DEC, min_count=1, min_fraction=0.0)
    assert c.n_tokens == 6
    assert c.n_pos.tolist() == [3, 2, 0, 0]
    assert c.n_neg.tolist() == [2, 0, 0, 1]
    assert torch.allclose(
        c.rate_pos, torch.tensor([0.5, 1 / 3, 0, 0], dtype=torch.float64)
    )
    assert torch.allclose(
        c.balance, torch.tensor([0.2, 1.0, 0.0, -1.0], dtype=torch.float64)
    )
    assert torch.allclose(
        c.bipolarity, torch.tensor([0.8, 0.0, 0.0, 0.0], dtype=torch.float64)
    )
    # E+ = ||d||^2 sum f^2 over positive values: latent 0: 4 * (1 + 9 + 4) = 56; E- = 4 * (4 + 1) = 20
    assert c.energy_pos.tolist() == [56.0, 5.0, 0.0, 0.0]
    assert c.energy_neg.tolist() == [20.0, 0.0, 0.0, 9.0]
    assert c.energy_share_pos[0].item() == pytest.approx(56 / 76)
    assert c.max_pos.tolist() == [3.0, 2.0, 0.0, 0.0]
    assert c.max_neg.tolist() == [2.0, 0.0, 0.0, 1.0]
    row = c.latent(0)
    assert row["share_of_dictionary_energy"] == pytest.approx(76 / 90)
    assert row["rarer_rate"] == pytest.approx(2 / 6)


def test_bipolar_criterion_and_summary() -> None:
    loose = census_from_feature_acts(F, W_DEC, min_count=1, min_fraction=0.0)
    assert loose.bipolar.tolist() == [True, False, False, False]
    assert not census_from_feature_acts(F, W_DEC, min_count=3).bipolar.any()
    assert not census_from_feature_acts(
        F, W_DEC, min_count=1, min_fraction=0.45
    ).bipolar.any()
    assert census_from_feature_acts(F, W_DEC, min_count=2, min_fraction=0.4).bipolar[0]
    s = loose.summary()
    assert s["dead_fraction"] == 0.25
    assert s["positive_only_fraction"] == 0.25
    assert s["negative_only_fraction"] == 0.25
    assert s["both_signs_fraction"] == 0.25
    assert s["bipolar_share_of_live"] == pytest.approx(1 / 3)
    assert s["l0"] == pytest.approx(8 / 6)
    assert s["l0_negative"] == pytest.approx(3 / 6)
    assert s["negative_share_of_energy"] == pytest.approx(29 / 90)


def test_ranking_puts_bipolar_first_then_rarer_sign_rate() -> None:
    c = census_from_feature_acts(F, W_DEC, min_count=1, min_fraction=0.0)
    assert c.ranking().tolist() == [0, 1, 3, 2]  # then ties on rarer rate 0 by activity
    c2 = census_from_feature_acts(F, W_DEC, min_count=5)
    assert c2.ranking().tolist()[:2] == [
        0,
        1,
    ]  # no bipolar latent: by rarer rate, then activity


def test_batches_match_one_tensor() -> None:
    whole = census_from_feature_acts(F, W_DEC)
    parts = census_from_feature_acts([F[:2], F[2:5], F[5:]], W_DEC)
    for name in ("n_pos", "n_neg", "energy_pos", "energy_neg", "max_pos", "max_neg"):
        assert torch.equal(getattr(whole, name), getattr(parts, name)), name


def test_compute_census_encodes_with_the_sae() -> None:
    sae = SignAwareGatedSAE(SignAwareGatedSAEConfig(d_in=4, d_sae=4))
    with torch.no_grad():
        sae.W_enc.copy_(torch.eye(4))
        sae.W_dec.copy_(W_DEC)
        sae.threshold_pos.fill_(0.5)
        sae.threshold_neg.fill_(0.5)
    x = torch.tensor([[1.0, -1.0, 0.2, 0.0], [-0.7, 0.6, -0.1, 2.0]])
    c = compute_census(sae, x, batch_size=1)
    assert c.n_pos.tolist() == [1, 1, 0, 1]
    assert c.n_neg.tolist() == [1, 1, 0, 0]


def test_reconstruction_metrics_report_the_census(signed_sae, mlp_out_acts) -> None:
    val = mlp_out_acts["validation"]
    c = compute_census(signed_sae, val)
    s = c.summary()
    metrics = reconstruction_metrics(signed_sae, val)  # type: ignore[arg-type]
    for key, value in s.items():
        if key not in ("n_tokens", "d_sae"):
            assert metrics[key] == pytest.approx(value), key
    with torch.no_grad():
        err = (signed_sae(val) - val).pow(2).sum(-1)
    var = (val - val.mean(0)).pow(2).sum(-1).mean()
    assert metrics["mse"] == pytest.approx(err.mean().item(), rel=1e-4)
    assert metrics["explained_variance"] == pytest.approx(
        1 - (err.mean() / var).item(), rel=1e-4
    )
    # a signed dictionary on real activations: most live latents fire with both signs,
    # and the negative side carries a real share of the reconstruction
    assert s["both_signs_fraction"] > 0.5
    assert s["both_signs_share_of_live"] >= s["bipolar_share_of_live"]
    assert 0.0 < s["rarer_sign_share_of_both_signs"] <= 0.5
    assert 0.1 < s["negative_share_of_energy"] < 0.9
