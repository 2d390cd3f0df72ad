"""Configs of the short training runs on the real model.

Every SA-GSAE training field is set explicitly (``SAE_KWARGS``): the package
defaults are still being tuned, and these tests must not move with them.
"""

from pathlib import Path
from typing import Any

from sae_lens import LanguageModelSAERunnerConfig, LoggingConfig

from sae_lens_signaware import SignAwareGatedTrainingSAEConfig
from sae_lens_signaware_cli.assets import DEFAULT_HOOK, DEFAULT_MODEL, tinystories_dir

SAE_KWARGS: dict[str, Any] = {
    "d_in": 128,
    "d_sae": 512,
    "normalize_activations": "expected_average_only_in",
    "two_sided": True,
    "sparsity": "l0",
    "l1_coefficient": 1.0,
    "l0_coefficient": 1.0,
    "sparsity_warm_up_steps": 0,
    "aux_coefficient": 1.0,
    "aux_detach_decoder": True,
    "tie_thresholds": True,
    "threshold_init": 0.5,
    "threshold_init_l0": 32.0,
    "bandwidth": 0.1,
    "ste_to_input": True,
    "unit_norm_encoder": True,
    "reset_dead_thresholds": True,
}
LEARN_TOKENS = 61_440  # 60 steps of 1024 tokens, about 6 s here


def runner_cfg(
    tmp_path: Path,
    tokens: int = 8192,
    sae: dict[str, Any] | None = None,
    **overrides: Any,
) -> LanguageModelSAERunnerConfig[SignAwareGatedTrainingSAEConfig]:
    """A small, fast runner config writing under ``tmp_path``."""
    kwargs: dict[str, Any] = {
        "model_name": DEFAULT_MODEL,
        "hook_name": DEFAULT_HOOK,
        "dataset_path": str(tinystories_dir()),
        "dataset_trust_remote_code": False,
        "context_size": 128,
        "training_tokens": tokens,
        "train_batch_size_tokens": 1024,
        "store_batch_size_prompts": 8,
        "n_batches_in_buffer": 16,
        "n_batches_for_norm_estimate": 2,
        "lr": 1e-3,
        "logger": LoggingConfig(log_to_wandb=False),
        "output_path": str(tmp_path / "out"),
        "checkpoint_path": str(tmp_path / "ckpt"),
        "verbose": False,
        **overrides,
    }
    sae_cfg = SignAwareGatedTrainingSAEConfig(**{**SAE_KWARGS, **(sae or {})})
    return LanguageModelSAERunnerConfig(sae=sae_cfg, **kwargs)
