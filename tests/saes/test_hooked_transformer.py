"""The SA-GSAE spliced into a ``HookedSAETransformer``, and SAELens's ``run_evals``."""

import pytest
import torch
from sae_lens import SAE
from sae_lens.evals import EvalConfig, run_evals
from sae_lens.training.activation_scaler import ActivationScaler

from sae_lens_signaware.evaluation.held_out import eval_store, evaluate, text_dataset
from sae_lens_signaware_cli.assets import tinystories_dir

pytestmark = pytest.mark.integration

HOOK = "blocks.1.hook_mlp_out"


def _zero_ablate(act: torch.Tensor, hook: object) -> torch.Tensor:  # noqa: ARG001
    return torch.zeros_like(act)


@pytest.fixture(scope="module")
def sae(trained):
    return SAE.load_from_disk(trained["output"])


def test_run_with_saes_splices_and_resets(tinystories_model, sae, val_tokens) -> None:
    model = tinystories_model
    clean_loss = model(val_tokens, return_type="loss")
    spliced_loss = model.run_with_saes(val_tokens, saes=[sae], return_type="loss")
    assert model.acts_to_saes == {}  # removed again after the run
    assert not torch.isclose(spliced_loss, clean_loss)
    with model.hooks(fwd_hooks=[(HOOK, _zero_ablate)]):
        ablated_loss = model(val_tokens, return_type="loss")
    assert clean_loss < spliced_loss < ablated_loss
    # with the error term the spliced model computes the clean model exactly
    with_error = model.run_with_saes(val_tokens, saes=[sae], use_error_term=True)
    torch.testing.assert_close(with_error, model(val_tokens), atol=1e-4, rtol=1e-4)


def test_run_with_cache_with_saes_exposes_signed_latents(
    tinystories_model, sae, val_tokens
) -> None:
    _, cache = tinystories_model.run_with_cache_with_saes(val_tokens, saes=[sae])
    feats = cache[f"{HOOK}.hook_sae_acts_post"]
    assert feats.shape == (*val_tokens.shape, 512)
    assert (feats > 0).any() and (feats < 0).any()
    recons = cache[f"{HOOK}.hook_sae_recons"]
    torch.testing.assert_close(recons, sae.decode(feats))
    torch.testing.assert_close(cache[f"{HOOK}.hook_sae_output"], recons)
    assert tinystories_model.acts_to_saes == {}


def test_run_evals_reports_the_core_metrics(tinystories_model, sae) -> None:
    store = eval_store(tinystories_model, sae, text_dataset(tinystories_dir()), 8)
    metrics, _ = run_evals(
        sae=sae,
        activation_store=store,
        model=tinystories_model,
        activation_scaler=ActivationScaler(),
        eval_config=EvalConfig(
            batch_size_prompts=8,
            n_eval_reconstruction_batches=2,
            n_eval_sparsity_variance_batches=2,
            compute_kl=True,
            compute_ce_loss=True,
            compute_sparsity_metrics=True,
            compute_variance_metrics=True,
        ),
    )
    assert 0 < metrics["sparsity"]["l0"] < 512
    assert 0 < metrics["reconstruction_quality"]["explained_variance"] <= 1
    assert 0 < metrics["model_performance_preservation"]["ce_loss_score"] <= 1.05
    assert 0 < metrics["model_behavior_preservation"]["kl_div_score"] <= 1.05


def test_evaluate_adds_a_sign_census(tinystories_model, sae) -> None:
    metrics = evaluate(sae, tinystories_model, tinystories_dir(), n_batches=1)
    shares = [
        metrics[f"{kind}_fraction"]
        for kind in ("dead", "positive_only", "negative_only", "both_signs")
    ]
    assert sum(shares) == pytest.approx(1.0)
    assert metrics["census_tokens"] > 3000  # 2 x 16 x 128 tokens, less BOS tokens
    assert metrics["l0_positive"] + metrics["l0_negative"] == pytest.approx(
        metrics["l0"], rel=0.25
    )
