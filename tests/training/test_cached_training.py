"""``train_on_cached``'s b_dec initialisation."""

import pytest
import torch
from sae_lens import GatedTrainingSAEConfig

from sae_lens_signaware.saes.config import SignAwareGatedTrainingSAEConfig
from sae_lens_signaware.training import TrainSettings, train_on_cached


def _acts() -> torch.Tensor:
    torch.manual_seed(0)
    offset = torch.zeros(16)
    offset[3] = 40.0  # a mean far beyond what Adam moves b_dec in a few steps
    return torch.randn(512, 16) + offset


@pytest.mark.parametrize(
    "cfg",
    [
        GatedTrainingSAEConfig(d_in=16, d_sae=32),
        SignAwareGatedTrainingSAEConfig(d_in=16, d_sae=32, threshold_init_l0=4),
    ],
    ids=["gated", "sign_aware_gated"],
)
def test_b_dec_starts_at_the_first_batch_mean(cfg) -> None:
    acts = _acts()
    batches = []
    settings = TrainSettings(n_steps=1, batch_size=256, lr=1e-7, b_dec_init="mean")
    sae, _ = train_on_cached(cfg, acts, settings, on_step=lambda o: batches.append(o))
    assert len(batches) == 1
    # the one batch the trainer drew is a shuffle of acts: its mean is near acts'
    assert torch.allclose(sae.b_dec, acts.mean(0), atol=0.3)
    zeros, _ = train_on_cached(cfg, acts, TrainSettings(n_steps=1, batch_size=256))
    assert zeros.b_dec.abs().max() < 0.01


def test_unknown_b_dec_init_is_refused_before_training() -> None:
    steps = []
    with pytest.raises(ValueError, match="b_dec_init must be"):
        train_on_cached(
            GatedTrainingSAEConfig(d_in=16, d_sae=32),
            _acts(),
            TrainSettings(n_steps=1, batch_size=256, b_dec_init="median"),  # type: ignore[arg-type]
            on_step=lambda o: steps.append(o),
        )
    assert steps == []
