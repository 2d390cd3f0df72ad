"""A tiny SA-GSAE trainer on random data: the fast reliability tests' setup."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from sae_lens.config import SAETrainerConfig
from sae_lens.saes.sae import TrainingSAE

from sae_lens_signaware import SignAwareGatedTrainingSAEConfig
from sae_lens_signaware.training import Trainer

D_IN, D_SAE, BATCH = 8, 16, 32


def tiny_sae(**fields: Any) -> TrainingSAE[Any]:
    cfg = SignAwareGatedTrainingSAEConfig(d_in=D_IN, d_sae=D_SAE, **fields)
    return TrainingSAE.from_dict(cfg.to_dict())


def batches(
    nan_at: int | None = None, value: float = float("nan")
) -> Iterator[torch.Tensor]:
    """Endless random batches; batch number ``nan_at`` (0-based) holds one ``value``."""
    generator = torch.Generator().manual_seed(0)
    i = 0
    while True:
        batch = torch.randn(BATCH, D_IN, generator=generator)
        if i == nan_at:
            batch[3, 2] = value
        yield batch
        i += 1


def tiny_trainer(
    data: Iterator[torch.Tensor],
    n_steps: int = 10,
    lr: float = 1e-3,
    checkpoint_path: Path | None = None,
    n_checkpoints: int = 0,
    sae: TrainingSAE[Any] | None = None,
    **kwargs: Any,
) -> Trainer:
    """A ``Trainer`` of ``n_steps`` steps (no norm estimate: batch k is step k)."""
    cfg = SAETrainerConfig(
        total_training_samples=n_steps * BATCH,
        train_batch_size_samples=BATCH,
        lr=lr,
        lr_end=lr,
        n_checkpoints=n_checkpoints,
        checkpoint_path=None if checkpoint_path is None else str(checkpoint_path),
        dead_feature_window=1000,
        feature_sampling_window=1000,
    )
    return Trainer(cfg=cfg, sae=sae or tiny_sae(), data_provider=data, **kwargs)
