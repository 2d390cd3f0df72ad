"""The target_l0 controller on real activations of the TinyStories model."""

import pytest
import torch

from sae_lens_signaware import SignAwareGatedTrainingSAEConfig
from sae_lens_signaware.training import TrainSettings, train_on_cached


@pytest.mark.integration
@pytest.mark.parametrize("target", [6.0, 24.0])
def test_training_l0_converges_to_target(mlp_out_acts, target: float) -> None:
    cfg = SignAwareGatedTrainingSAEConfig(
        d_in=128,
        d_sae=256,
        normalize_activations="expected_average_only_in",
        target_l0=target,
    )
    recorded: list[float] = []
    sae, _ = train_on_cached(
        cfg,
        mlp_out_acts["train"],
        TrainSettings(n_steps=400, batch_size=512),
        on_step=lambda output: recorded.append(
            float((output.feature_acts != 0).float().sum(-1).mean())
        ),
    )
    final_l0 = sum(recorded[-50:]) / 50
    assert abs(final_l0 - target) <= 0.1 * target, (
        final_l0,
        sae.l0_controller.tolist(),
    )
    assert torch.isfinite(sae.l0_controller).all()
