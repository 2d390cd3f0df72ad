"""Train a Sign-Aware Gated SAE briefly, evaluate it, load it back, splice it in.

    python tutorials/train_and_inspect.py [--training-tokens 100000] [--output output/tutorial]

Runs offline on the shared assets (``../shared/assets`` beside the checkout, or
``$SAE_SIGNAWARE_ASSETS``): the model ``raincandy-u/TinyStories-656K`` and the
TinyStories text. About 20 s at the default budget on a 2-core CPU.
"""

import argparse
from pathlib import Path
from typing import Any

import torch
from sae_lens import (
    SAE,
    LanguageModelSAERunnerConfig,
    LanguageModelSAETrainingRunner,
    LoggingConfig,
)

# 1. Importing the package registers the "sign_aware_gated" architecture with SAELens.
import sae_lens_signaware  # noqa: F401
from sae_lens_signaware import SignAwareGatedTrainingSAEConfig
from sae_lens_signaware.evaluation import evaluate
from sae_lens_signaware.models import load_hooked_model
from sae_lens_signaware_cli.assets import (
    DEFAULT_HOOK,
    DEFAULT_MODEL,
    tinystories_dir,
    use_offline_hub,
)


def main(
    tokens: int = 100_000, output: str | Path = "output/tutorial"
) -> dict[str, Any]:
    torch.set_num_threads(1)  # the model is tiny; more threads only contend
    torch.manual_seed(0)

    # 2. The model, as a HookedSAETransformer built from the local HF weights
    #    (TransformerLens refuses unofficial names in from_pretrained).
    use_offline_hub()
    model = load_hooked_model(DEFAULT_MODEL)

    # 3. Train with SAELens's runner: our config class goes in the `sae` field.
    cfg = LanguageModelSAERunnerConfig(
        sae=SignAwareGatedTrainingSAEConfig(
            d_in=128,
            d_sae=512,
            normalize_activations="expected_average_only_in",
            target_l0=8.0,  # the L0 controller holds the training L0 here
            threshold_init_l0=8.0,  # and the first step's thresholds start there
        ),
        model_name=DEFAULT_MODEL,
        hook_name=DEFAULT_HOOK,
        dataset_path=str(tinystories_dir()),  # a local folder of jsonl files
        dataset_trust_remote_code=False,
        context_size=128,
        training_tokens=tokens,
        train_batch_size_tokens=1024,
        store_batch_size_prompts=16,
        n_batches_in_buffer=16,
        n_batches_for_norm_estimate=10,
        lr=3e-3,  # the best of 3e-4, 1e-3, 3e-3 for every architecture at 1M tokens
        logger=LoggingConfig(log_to_wandb=False),
        output_path=str(output),
        checkpoint_path=None,
        verbose=False,
    )
    LanguageModelSAETrainingRunner(cfg, override_model=model).run()

    # 4. Load it back like any SAELens SAE and evaluate it on held-out text:
    #    run_evals (L0, explained variance, CE loss recovered, KL) + sign census.
    sae = SAE.load_from_disk(output)
    metrics = evaluate(sae, model, tinystories_dir(), "validation", n_batches=4)
    for key in ("l0", "explained_variance", "ce_loss_score", "kl_div_score"):
        print(f"{key:>22}: {metrics[key]:.3f}")
    for key in ("dead", "positive_only", "negative_only", "both_signs"):
        label = key.replace("_", " ") + " latents"
        print(f"{label:>22}: {metrics[key + '_fraction']:.1%}")

    # 5. Splice it into the model.
    tokens_in = model.to_tokens("Once upon a time, a little cat found a big red ball.")
    clean = model(tokens_in, return_type="loss").item()
    spliced = model.run_with_saes(tokens_in, saes=[sae], return_type="loss").item()
    print(f"next-token loss: clean {clean:.3f}, with the SAE spliced in {spliced:.3f}")

    _, cache = model.run_with_cache_with_saes(tokens_in, saes=[sae])
    feats = cache[f"{DEFAULT_HOOK}.hook_sae_acts_post"][0]  # (position, d_sae)
    position = -1
    token = model.to_string(tokens_in[0, position])
    top = feats[position].abs().topk(5).indices
    print(f"strongest latents at {token!r} (a latent's sign says which way it fires):")
    for latent in top.tolist():
        print(f"  latent {latent:4d}: {feats[position, latent].item():+.3f}")
    return metrics


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--training-tokens", type=int, default=100_000)
    parser.add_argument("--output", default="output/tutorial")
    args = parser.parse_args()
    main(args.training_tokens, args.output)
