"""Builders shared by the tests."""

import dataclasses
from typing import Any

import torch
from sae_lens.saes.sae import TrainStepInput

from sae_lens_signaware import (
    SignAwareGatedSAE,
    SignAwareGatedSAEConfig,
    SignAwareGatedTrainingSAE,
    SignAwareGatedTrainingSAEConfig,
)


def training_cfg(**kwargs: Any) -> SignAwareGatedTrainingSAEConfig:
    kwargs.setdefault("d_in", 8)
    kwargs.setdefault("d_sae", 16)
    return SignAwareGatedTrainingSAEConfig(**kwargs)


def randomize(sae: torch.nn.Module, scale: float = 0.5) -> None:
    """Give every parameter random values (thresholds stay >= 0)."""
    with torch.no_grad():
        for name, param in sae.named_parameters():
            values = torch.randn_like(param) * scale
            param.copy_(values.abs() if "threshold" in name else values)


def trained_like_sae(
    two_sided: bool = True,
    d_in: int = 8,
    d_sae: int = 16,
    sign_encoders: str = "shared",
) -> SignAwareGatedSAE:
    sae = SignAwareGatedSAE(
        SignAwareGatedSAEConfig(
            d_in=d_in,
            d_sae=d_sae,
            two_sided=two_sided,
            sign_encoders=sign_encoders,  # type: ignore[arg-type]
        )
    )
    randomize(sae)
    return sae


def step_input(
    x: torch.Tensor, coefficient: float, mode: str = "l0", step: int = 1
) -> TrainStepInput:
    return TrainStepInput(
        sae_in=x,
        coefficients={mode: coefficient},
        dead_neuron_mask=None,
        n_training_steps=step,
        is_logging_step=False,
    )


def copy_into_training(
    sae: SignAwareGatedSAE, cfg: SignAwareGatedTrainingSAEConfig
) -> SignAwareGatedTrainingSAE:
    # the training SAE takes the encoder kind of the SAE it copies
    cfg = dataclasses.replace(cfg, sign_encoders=sae.cfg.sign_encoders)
    training = SignAwareGatedTrainingSAE(cfg)
    state = {k: v.clone() for k, v in sae.state_dict().items()}
    state["l0_controller"] = torch.zeros(2)
    training.load_state_dict(state)
    return training
