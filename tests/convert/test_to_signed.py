"""``to_signed``: existing SAEs (JumpReLU form, Gated) as per-sign SA-GSAEs."""

import pytest
import torch
from sae_lens import GatedSAE, GatedSAEConfig, JumpReLUSAE, JumpReLUSAEConfig

from sae_lens_signaware import SignAwareGatedSAE
from sae_lens_signaware.convert import antipodal_pairs, to_jumprelu, to_signed
from tests.helpers import randomize, trained_like_sae


@pytest.mark.parametrize("sign_encoders", ["shared", "per_sign"])
@pytest.mark.parametrize("apply_b_dec_to_input", [True, False])
def test_round_trip_through_jumprelu_is_exact(
    sign_encoders: str, apply_b_dec_to_input: bool
) -> None:
    sa = trained_like_sae(d_in=16, d_sae=64, sign_encoders=sign_encoders)
    sa.cfg.apply_b_dec_to_input = apply_b_dec_to_input
    back = to_signed(to_jumprelu(sa))
    assert back.sae.cfg.d_sae == 64 and back.n_merged == 64
    assert back.sae.per_sign
    assert torch.equal(back.pairs[:, 1] - back.pairs[:, 0], torch.full((64,), 64))
    x = torch.randn(2048, 16) * 3
    with torch.no_grad():
        torch.testing.assert_close(back.sae.encode(x).sign(), sa.encode(x).sign())
        torch.testing.assert_close(back.sae(x), sa(x), rtol=1e-5, atol=1e-4)
        assert torch.equal(back.sae.side_acts(x).ne(0), sa.side_acts(x).ne(0))


def _jumprelu(d_in: int = 8, d_sae: int = 32) -> JumpReLUSAE:
    sae = JumpReLUSAE(JumpReLUSAEConfig(d_in=d_in, d_sae=d_sae))
    randomize(sae)
    with torch.no_grad():
        sae.threshold.sub_(0.2)  # some negative thresholds (clamped: no change)
    return sae


def test_an_sae_without_antipodal_rows_converts_exactly_with_closed_sides() -> None:
    source = _jumprelu()
    with torch.no_grad():  # every row in the positive orthant: no cos < 0
        source.W_dec.abs_()
    signed = to_signed(source, cut=0.5)
    assert signed.n_merged == 0 and signed.sae.cfg.d_sae == 32
    x = torch.randn(512, 8) * 2
    with torch.no_grad():
        torch.testing.assert_close(signed.sae.encode(x), source.encode(x))
        torch.testing.assert_close(signed.sae(x), source(x))
        assert not signed.sae.side_acts(x)[:, 32:].any()  # closed


def test_exact_pairs_merge_and_near_pairs_project() -> None:
    source = _jumprelu(d_sae=6)
    with torch.no_grad():
        source.W_dec.copy_(torch.randn(6, 8))
        source.W_dec[3] = -2.0 * source.W_dec[0]  # exactly antipodal
        source.W_dec[4] = -source.W_dec[1] + 0.05 * torch.randn(8)  # nearly
    pairs, cosines = antipodal_pairs(source.W_dec, cut=0.9)
    assert pairs[0] == (0, 3) and cosines[0] == pytest.approx(-1.0)
    assert (1, 4) in pairs
    signed = to_signed(source, cut=0.9)
    assert signed.sae.cfg.d_sae == 4 and signed.n_merged == 2
    assert signed.pairs.tolist()[:2] == [[0, 3], [1, 4]]
    x = torch.randn(1024, 8) * 2
    with torch.no_grad():
        source_acts = source.encode(x)
        # the exact pair reconstructs what latents 0 and 3 did
        exact = source_acts[:, [0, 3]] @ source.W_dec[[0, 3]]
        mine = signed.sae.encode(x)[:, :1] @ signed.sae.W_dec[:1]
        torch.testing.assert_close(mine, exact, rtol=1e-5, atol=1e-5)


def test_gated_converts_exactly() -> None:
    gated = GatedSAE(GatedSAEConfig(d_in=8, d_sae=16))
    randomize(gated)
    signed = to_signed(gated, cut=1.0)  # only exact antipodes would merge
    assert signed.n_merged == 0
    x = torch.randn(256, 8) * 2
    with torch.no_grad():
        torch.testing.assert_close(signed.sae.encode(x), gated.encode(x))
        torch.testing.assert_close(signed.sae(x), gated(x))


def test_refuses_what_it_cannot_convert() -> None:
    with pytest.raises(TypeError, match="JumpReLU form .* or a Gated SAE"):
        to_signed(trained_like_sae())
    with pytest.raises(ValueError, match="cut must be in"):
        to_signed(_jumprelu(), cut=0.0)
    source = _jumprelu()
    with torch.no_grad():
        source.b_enc[0] = float("nan")
    with pytest.raises(ValueError, match="non-finite 'b_enc'"):
        to_signed(source)


def test_a_converted_sae_saves_and_loads(tmp_path) -> None:
    signed = to_signed(to_jumprelu(trained_like_sae(d_in=16, d_sae=32))).sae
    signed.save_model(tmp_path)
    from sae_lens import SAE

    loaded = SAE.load_from_disk(tmp_path)
    assert isinstance(loaded, SignAwareGatedSAE) and loaded.per_sign
    x = torch.randn(64, 16)
    assert torch.equal(loaded(x), signed(x))
    assert loaded.cfg.metadata.signed_pairs_merged == 32


def test_the_merged_direction_leans_to_the_latent_that_carries_more() -> None:
    from sae_lens_signaware.convert.signed import merged_direction

    n_j = torch.tensor([1.0, 0.0], dtype=torch.float64)
    n_k = torch.nn.functional.normalize(
        torch.tensor([-1.0, 0.3], dtype=torch.float64), dim=0
    )
    even = merged_direction(n_j, n_k)
    torch.testing.assert_close(even, torch.nn.functional.normalize(n_j - n_k, dim=0))
    heavy_j = merged_direction(n_j, n_k, 100.0, 1.0)
    heavy_k = merged_direction(n_j, n_k, 1.0, 100.0)
    assert heavy_j @ n_j > even @ n_j > heavy_k @ n_j
    assert -(heavy_k @ n_k) > -(even @ n_k)
    exact = merged_direction(n_j, -n_j, 3.0, 1.0)
    torch.testing.assert_close(exact, n_j)


def test_weighting_by_activations_loses_less_than_the_even_split() -> None:
    torch.manual_seed(0)
    source = _jumprelu(d_in=8, d_sae=6)
    with torch.no_grad():
        source.W_dec.copy_(torch.randn(6, 8))
        source.W_dec[4] = -source.W_dec[1] + 0.4 * torch.randn(8)
        source.threshold.zero_()
        source.b_enc[1] = 2.0  # latent 1 carries much more than latent 4
    x = torch.randn(4096, 8)
    even = to_signed(source, cut=0.7)
    weighted = to_signed(source, cut=0.7, acts=x)
    assert even.n_merged == weighted.n_merged == 1

    def error(sae: SignAwareGatedSAE) -> float:
        with torch.no_grad():
            return float((sae(x) - source(x)).pow(2).sum())

    assert error(weighted.sae) < error(even.sae)
