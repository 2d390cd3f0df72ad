"""A small SA-GSAE trained on real activations, shared by the analysis and dashboard tests."""

import tempfile
from typing import Any

import torch
from sae_lens import SAE

from sae_lens_signaware import SignAwareGatedTrainingSAEConfig
from sae_lens_signaware.training import TrainSettings, train_on_cached

HOOK = "blocks.1.hook_mlp_out"
D_SAE = 256
STEPS = 200
#: Every training option set explicitly, so the tests do not move with the package
#: defaults (still being tuned).
SAE_KWARGS: dict[str, Any] = {
    "normalize_activations": "expected_average_only_in",
    "two_sided": True,
    "sparsity": "l0",
    "l0_coefficient": 4.0,
    "sparsity_warm_up_steps": 0,
    "aux_coefficient": 1.0,
    "aux_detach_decoder": True,
    "tie_thresholds": True,
    "threshold_init": 0.5,
    "threshold_init_l0": 16.0,
    "bandwidth": 0.1,
    "ste_to_input": True,
    "unit_norm_encoder": True,
    "reset_dead_thresholds": True,
}
_CACHE: dict[int, SAE[Any]] = {}


def small_signed_sae(train_acts: torch.Tensor) -> SAE[Any]:
    """An inference SA-GSAE (``d_sae=256``) trained for 200 steps on ``train_acts``,
    saved and loaded back; trained once per session."""
    key = id(train_acts)
    if key not in _CACHE:
        cfg = SignAwareGatedTrainingSAEConfig(
            d_in=train_acts.shape[-1], d_sae=D_SAE, **SAE_KWARGS
        )
        with torch.random.fork_rng():
            trained, _ = train_on_cached(cfg, train_acts, TrainSettings(n_steps=STEPS))
        trained.cfg.metadata.hook_name = HOOK  # where train_acts came from
        with tempfile.TemporaryDirectory() as tmp:
            trained.save_inference_model(tmp)
            _CACHE[key] = SAE.load_from_disk(tmp).eval()
    return _CACHE[key]
