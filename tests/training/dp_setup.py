"""The run that the data-parallel tests train with 1 and with 2 ranks."""

import torch

from sae_lens_signaware.saes.config import SignAwareGatedTrainingSAEConfig
from sae_lens_signaware.training import TrainSettings

ACTS_SEED = 0
STEPS = 30
GLOBAL_BATCH = 256


def synthetic_acts(seed: int) -> torch.Tensor:
    """Sparse signed mixtures of 48 directions in 16 dims, with an offset mean."""
    g = torch.Generator().manual_seed(seed)
    directions = torch.randn(48, 16, generator=g)
    codes = torch.randn(4096, 48, generator=g) * (
        torch.rand(4096, 48, generator=g) < 0.1
    )
    return codes @ directions + 3.0


def config() -> SignAwareGatedTrainingSAEConfig:
    """Every global statistic in play: the L0 controller, the first-step
    threshold quantiles, threshold resets, the norm scaling factor."""
    return SignAwareGatedTrainingSAEConfig(
        d_in=16,
        d_sae=64,
        target_l0=6.0,
        threshold_init_l0=6.0,
        normalize_activations="expected_average_only_in",
    )


def settings() -> TrainSettings:
    return TrainSettings(
        n_steps=STEPS,
        batch_size=GLOBAL_BATCH,
        lr=1e-3,
        seed=0,
        dead_feature_window=5,
        b_dec_init="mean",
    )
