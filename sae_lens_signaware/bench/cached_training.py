"""Train any SAELens training SAE on cached activations with SAELens's ``SAETrainer``."""

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from sae_lens.config import SAETrainerConfig
from sae_lens.saes.sae import (
    TrainingSAE,
    TrainingSAEConfig,
    TrainStepInput,
    TrainStepOutput,
)
from sae_lens.training.sae_trainer import SAETrainer

from sae_lens_signaware.bench.activations import shuffled_batches


@dataclass
class TrainSettings:
    n_steps: int = 2000
    batch_size: int = 1024
    lr: float = 3e-4
    dead_feature_window: int = 500
    seed: int = 0
    lr_warm_up_steps: int = 0
    lr_decay_steps: int = 0
    # "mean": b_dec starts at the mean of the first (scaled) training batch.
    # SAELens 6 starts it at zero, and Adam moves it by about lr per step, so
    # a short run cannot learn a large mean (layer-1 resid: |mean| 7.5 in one
    # coordinate after scaling, half of E||x||^2) and spends latents on it.
    b_dec_init: str = "zeros"


def train_on_cached(
    sae_cfg: TrainingSAEConfig,
    acts: torch.Tensor,
    settings: TrainSettings,
    on_step: Callable[[TrainStepOutput], None] | None = None,
    prepare: Callable[[TrainingSAE[Any]], Any] | None = None,
) -> tuple[TrainingSAE[Any], float]:
    """Train from scratch; return the SAE (normalisation folded in) and seconds taken.

    ``on_step`` sees each step's ``TrainStepOutput`` (training L0, losses, metrics);
    ``prepare`` gets the new SAE before training (e.g. to wrap its forward pass).
    """
    torch.manual_seed(settings.seed)
    sae = TrainingSAE.from_dict(sae_cfg.to_dict())
    if prepare is not None:
        prepare(sae)
    trainer_cfg = SAETrainerConfig(
        total_training_samples=settings.n_steps * settings.batch_size,
        train_batch_size_samples=settings.batch_size,
        lr=settings.lr,
        lr_end=settings.lr / 10,
        lr_warm_up_steps=settings.lr_warm_up_steps,
        lr_decay_steps=settings.lr_decay_steps,
        dead_feature_window=settings.dead_feature_window,
        feature_sampling_window=settings.n_steps + 1,
        n_batches_for_norm_estimate=20,
    )
    trainer = SAETrainer(
        cfg=trainer_cfg,
        sae=sae,
        data_provider=shuffled_batches(acts, settings.batch_size, settings.seed),
    )
    if settings.b_dec_init not in ("zeros", "mean"):
        raise ValueError(
            f"b_dec_init must be 'zeros' or 'mean', not {settings.b_dec_init!r}"
        )
    forward = sae.training_forward_pass

    def observed(step_input: TrainStepInput) -> TrainStepOutput:
        if step_input.n_training_steps == 0 and settings.b_dec_init == "mean":
            with torch.no_grad():
                sae.b_dec.copy_(step_input.sae_in.mean(0))
        output = forward(step_input)
        if on_step is not None:
            on_step(output)
        return output

    sae.training_forward_pass = observed  # type: ignore[method-assign]
    start = time.perf_counter()
    trained = trainer.fit()
    return trained, time.perf_counter() - start


@torch.no_grad()
def reconstruction_metrics(
    sae: TrainingSAE[Any], acts: torch.Tensor, batch_size: int = 8192
) -> dict[str, float]:
    """L0, explained variance, dead fraction and sign census on held-out activations.

    Dead: latents that fire on none of the rows of ``acts``.
    """
    sae.eval()
    sq_err = 0.0
    fired_pos = torch.zeros(sae.cfg.d_sae)
    fired_neg = torch.zeros(sae.cfg.d_sae)
    l0 = 0.0
    for start in range(0, acts.shape[0], batch_size):
        x = acts[start : start + batch_size]
        f = sae.encode(x)
        sq_err += (sae.decode(f) - x).pow(2).sum().item()
        fired_pos += (f > 0).sum(0).float()
        fired_neg += (f < 0).sum(0).float()
        l0 += (f != 0).sum().item()
    total_var = (acts - acts.mean(0)).pow(2).sum().item()
    n = acts.shape[0]
    alive = (fired_pos + fired_neg) > 0
    bipolar = (fired_pos > 0) & (fired_neg > 0)
    # per bipolar latent: the rarer sign's share of its firings (0.5 = balanced)
    minority = torch.minimum(fired_pos, fired_neg) / (fired_pos + fired_neg).clamp(
        min=1
    )
    return {
        "l0": l0 / n,
        "explained_variance": 1 - sq_err / total_var,
        "dead_fraction": 1 - alive.float().mean().item(),
        "bipolar_share_of_live": (bipolar.sum() / alive.sum().clamp(min=1)).item(),
        "negative_share_of_firing": (
            fired_neg.sum() / (fired_pos + fired_neg).sum().clamp(min=1)
        ).item(),
        "bipolar_balance": minority[bipolar].mean().item() if bipolar.any() else 0.0,
    }
