"""``to_jumprelu``: an exact SAELens ``jumprelu`` SAE from a signed SAE."""

import json
import urllib.parse
from typing import Any

import pytest
import torch
from datasets import Dataset
from sae_lens import ActivationsStore, JumpReLUSAE
from sae_lens.analysis import neuronpedia_integration as neuronpedia
from sae_lens.evals import EvalConfig, run_evals
from sae_lens.training.activation_scaler import ActivationScaler

from sae_lens_signaware import SignAwareGatedSAE
from sae_lens_signaware.activations import read_texts
from sae_lens_signaware.convert import (
    jumprelu_index,
    jumprelu_thresholds,
    merge_split,
    split_signed,
    to_jumprelu,
)
from tests.helpers import copy_into_training, trained_like_sae, training_cfg
from tests.paths import TINYSTORIES


def _random_sae(
    two_sided: bool, apply_b_dec_to_input: bool, norm: str
) -> SignAwareGatedSAE:
    sae = trained_like_sae(two_sided=two_sided, d_in=16, d_sae=64)
    sae.cfg.apply_b_dec_to_input = apply_b_dec_to_input
    sae.cfg.normalize_activations = norm  # type: ignore[assignment]
    sae._setup_activation_normalization()
    with torch.no_grad():  # big biases: some thresholds move below 0 and get clamped
        sae.r_mag.mul_(2)
        sae.b_gate.mul_(4)
        sae.b_mag.mul_(4)
    return sae


@pytest.mark.parametrize("norm", ["none", "layer_norm", "expected_average_only_in"])
@pytest.mark.parametrize("apply_b_dec_to_input", [True, False])
@pytest.mark.parametrize("two_sided", [True, False])
def test_random_weights_split_exactly(
    two_sided: bool, apply_b_dec_to_input: bool, norm: str
) -> None:
    sae = _random_sae(two_sided, apply_b_dec_to_input, norm)
    t_pos, t_neg = jumprelu_thresholds(sae)
    assert (t_pos < 0).any() and (t_pos > 0).any() and (t_neg < 0).any()
    jr = to_jumprelu(sae)
    assert isinstance(jr, JumpReLUSAE) and jr.cfg.architecture() == "jumprelu"
    assert jr.cfg.d_sae == (128 if two_sided else 64)
    assert (jr.threshold >= 0).all()
    for name in ("apply_b_dec_to_input", "normalize_activations", "dtype", "d_in"):
        assert getattr(jr.cfg, name) == getattr(sae.cfg, name)

    x = torch.randn(4096, 16) * 3 + 1
    with torch.no_grad():
        f, acts = sae.encode(x), jr.encode(x)
        assert (f != 0).any() and (two_sided == bool((f < 0).any()))
        assert torch.equal(acts, split_signed(f, two_sided))
        if two_sided:
            assert torch.equal(merge_split(acts), f)
        torch.testing.assert_close(jr(x), sae(x), rtol=1e-5, atol=1e-4)


def test_metadata_indices_and_training_sae() -> None:
    sae = _random_sae(True, True, "none")
    sae.cfg.metadata.hook_name = "blocks.0.hook_resid_pre"
    sae.cfg.metadata.neuronpedia_id = "model/0-signed"
    jr = to_jumprelu(sae, neuronpedia_id="model/0-signed-jumprelu")
    meta = jr.cfg.metadata
    assert meta.hook_name == "blocks.0.hook_resid_pre"
    assert meta.source_architecture == "sign_aware_gated" and meta.source_d_sae == 64
    assert meta.jumprelu_layout == "positive[0:d_sae], negative[d_sae:2*d_sae]"
    assert meta.neuronpedia_id == "model/0-signed-jumprelu"
    assert (
        sae.cfg.metadata.neuronpedia_id == "model/0-signed"
    )  # the source is untouched
    assert (jumprelu_index(5, 1, 64), jumprelu_index(5, -1, 64)) == (5, 69)
    with pytest.raises(ValueError):
        jumprelu_index(5, 0, 64)

    training = copy_into_training(sae, training_cfg(d_in=16, d_sae=64))
    x = torch.randn(512, 16) * 3
    with torch.no_grad():
        acts = to_jumprelu(training).encode(x)
        assert torch.equal(acts, split_signed(training.encode(x)))


@torch.no_grad()
def test_exact_on_real_activations(
    real_signed_sae: SignAwareGatedSAE, mlp_out_acts: dict[str, torch.Tensor]
) -> None:
    sae = real_signed_sae
    x = mlp_out_acts["validation"]
    jr = to_jumprelu(sae)
    f, acts = sae.encode(x), jr.encode(x)
    assert (f < 0).any() and (f > 0).any()
    split = split_signed(f)
    # float rounding may move a value by an ulp, or flip a gate whose pre-activation
    # is within rounding of its threshold; nothing else
    flipped = ~torch.isclose(acts, split, rtol=1e-6, atol=0.0)
    if flipped.any():
        pi_gate = sae.gate_and_magnitude(sae.process_sae_in(x))[0]
        margin = torch.minimum(
            (pi_gate - sae.threshold_pos).abs(), (-pi_gate - sae.threshold_neg).abs()
        )
        assert margin[flipped[:, :256] | flipped[:, 256:]].max() < 1e-4
    assert flipped.float().mean() < 1e-6
    print(
        f"activations bit-identical: {torch.equal(acts, split)}, flipped: {int(flipped.sum())}"
    )
    # a token whose gate flipped differs by that latent's contribution; every other
    # token must reconstruct to float tolerance
    exact_rows = ~flipped.any(dim=1)
    assert exact_rows.float().mean() > 0.999
    diff = (jr(x) - sae(x))[exact_rows].abs().max().item()
    scale = x.abs().max().item()
    print(f"max |x_hat_jumprelu - x_hat_signed| = {diff:.3g} (max |x| = {scale:.3g})")
    assert diff < 1e-5 * scale


def _store(model: Any, sae: Any) -> ActivationsStore:
    texts = read_texts("validation", TINYSTORIES)[:64]
    return ActivationsStore.from_sae(
        model,
        sae,
        dataset=Dataset.from_dict({"text": texts}),
        streaming=False,
        context_size=64,
        store_batch_size_prompts=4,
        n_batches_in_buffer=2,
        train_batch_size_tokens=256,
        total_tokens=64 * 64,
    )


@pytest.mark.filterwarnings("ignore:Dataset is not tokenized:UserWarning")
@pytest.mark.filterwarnings(
    "ignore:The training dataset contains fewer samples:UserWarning"
)
def test_run_evals_and_neuronpedia_on_export(
    real_signed_sae: SignAwareGatedSAE,
    tinystories_model: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    jr = to_jumprelu(
        real_signed_sae, neuronpedia_id="tinystories-656k/1-sagsae-jumprelu"
    )
    config = EvalConfig(
        batch_size_prompts=4,
        n_eval_reconstruction_batches=2,
        n_eval_sparsity_variance_batches=2,
        compute_ce_loss=True,
        compute_kl=True,
        compute_sparsity_metrics=True,
        compute_variance_metrics=True,
        compute_featurewise_density_statistics=True,
    )
    results = {}
    for name, sae in (("signed", real_signed_sae), ("jumprelu", jr)):
        torch.manual_seed(0)
        results[name] = run_evals(
            sae,
            _store(tinystories_model, sae),
            tinystories_model,
            ActivationScaler(),
            config,
        )
    signed, exported = results["signed"][0], results["jumprelu"][0]
    # one non-zero JumpReLU latent per non-zero signed latent, the same reconstruction
    assert exported["sparsity"]["l0"] == pytest.approx(
        signed["sparsity"]["l0"], rel=1e-6
    )
    for group, key in (
        ("reconstruction_quality", "explained_variance"),
        ("model_performance_preservation", "ce_loss_with_sae"),
    ):
        assert exported[group][key] == pytest.approx(signed[group][key], rel=1e-4)
    assert exported["model_performance_preservation"]["ce_loss_score"] > 0.5
    density = results["jumprelu"][1]["feature_density"]
    assert len(density) == 512 and min(density) >= 0

    opened: list[str] = []
    monkeypatch.setattr(neuronpedia.webbrowser, "open", opened.append)
    index = jumprelu_index(7, -1, real_signed_sae.cfg.d_sae)
    url = neuronpedia.get_neuronpedia_quick_list(jr, [7, index], name="signed latent 7")
    assert opened == [url] and url.startswith(
        "https://neuronpedia.org/quick-list/?name=signed"
    )
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    features = json.loads(query["features"][0])
    assert features == [
        {"modelId": "TinyStories-656K", "layer": "1-sagsae-jumprelu", "index": "7"},
        {
            "modelId": "TinyStories-656K",
            "layer": "1-sagsae-jumprelu",
            "index": str(index),
        },
    ]
    neuronpedia.open_neuronpedia_feature_dashboard(jr, index)
    assert (
        opened[-1]
        == f"https://neuronpedia.org/tinystories-656k/1-sagsae-jumprelu/{index}"
    )
