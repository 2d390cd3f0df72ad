import math

import torch

from sae_lens_signaware import SignAwareGatedTrainingSAE
from sae_lens_signaware.saes.l0_controller import LOG_SCALE_LIMIT, update_controller
from tests.helpers import step_input, training_cfg


def test_pi_update_in_log_space_and_clipped() -> None:
    state = torch.zeros(2)
    update_controller(state, batch_l0=32.0, target_l0=16.0, gain=0.5, proportional=2.0)
    err = math.log(2.0)
    torch.testing.assert_close(state, torch.tensor([0.5 * err, 0.5 * err + 2.0 * err]))
    update_controller(state, batch_l0=16.0, target_l0=16.0, gain=0.5, proportional=2.0)
    torch.testing.assert_close(state, torch.tensor([0.5 * err, 0.5 * err]))
    update_controller(state, batch_l0=0.0, target_l0=16.0, gain=100.0, proportional=0.0)
    assert state.tolist() == [-LOG_SCALE_LIMIT, -LOG_SCALE_LIMIT]


def test_controller_scales_the_next_coefficient_and_is_saved() -> None:
    sae = SignAwareGatedTrainingSAE(
        training_cfg(target_l0=1.0, target_l0_gain=0.1, target_l0_proportional=0.0)
    )
    x = torch.randn(64, 8) * 3
    first = sae.training_forward_pass(step_input(x, 0.5))
    first_l0 = (first.feature_acts != 0).float().sum(-1).mean().item()
    expected_factor = math.exp(0.1 * math.log(first_l0))
    assert math.isclose(first.metrics["sparsity_scale"], expected_factor, rel_tol=1e-5)
    second = sae.training_forward_pass(step_input(x, 0.5))
    second_l0 = (second.feature_acts != 0).float().sum(-1).mean()
    torch.testing.assert_close(
        second.losses["l0_loss"],
        0.5 * expected_factor * second_l0,
        rtol=1e-5,
        atol=1e-5,
    )
    assert sae.state_dict()["l0_controller"].shape == (2,)


def test_without_target_the_coefficient_is_untouched() -> None:
    sae = SignAwareGatedTrainingSAE(training_cfg())
    out = sae.training_forward_pass(step_input(torch.randn(64, 8) * 3, 0.5))
    l0 = (out.feature_acts != 0).float().sum(-1).mean()
    torch.testing.assert_close(out.losses["l0_loss"], 0.5 * l0)
    assert "sparsity_scale" not in out.metrics
