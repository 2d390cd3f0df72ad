"""Train any SAELens training SAE on a tensor of cached activations.

``train_on_cached`` feeds shuffled batches of the tensor to ``Trainer``
(SAELens's ``SAETrainer`` with our additions), so every architecture trains
with SAELens's own loop: Adam, gradient clipping, coefficient warm-up,
activation normalisation (folded into the weights at the end), dead-latent
statistics.
"""

import time
from dataclasses import dataclass
from typing import Any

import torch
from sae_lens.config import SAETrainerConfig
from sae_lens.saes.sae import TrainingSAE, TrainingSAEConfig

from sae_lens_signaware.activations import shuffled_batches
from sae_lens_signaware.distributed import rank, world_size
from sae_lens_signaware.training.trainer import (
    BDecInit,
    L0Target,
    StepCallback,
    Trainer,
)


@dataclass
class TrainSettings:
    n_steps: int = 2000
    batch_size: int = 1024
    lr: float = 3e-4
    dead_feature_window: int = 500
    seed: int = 0
    lr_warm_up_steps: int = 0
    lr_decay_steps: int = 0
    #: ``"mean"``: ``b_dec`` starts at the first scaled batch's mean (see ``Trainer``)
    b_dec_init: BDecInit = "zeros"
    #: drop (and count) batches with NaN/inf instead of stopping (training/guards.py)
    skip_non_finite_batches: bool = False
    #: where the SAE trains (``acts`` may live elsewhere: batches are moved)
    device: str = "cpu"


def train_on_cached(
    sae_cfg: TrainingSAEConfig,
    acts: torch.Tensor,
    settings: TrainSettings,
    on_step: StepCallback | None = None,
    l0_target: L0Target | None = None,
) -> tuple[TrainingSAE[Any], float]:
    """Train from scratch; return the SAE (normalisation folded in) and seconds taken.

    ``on_step`` sees each step's ``TrainStepOutput``; ``l0_target`` drives a
    coefficient of an architecture without a target option of its own.

    Under ``torch.distributed`` (``N`` ranks), ``settings.batch_size`` is the
    global batch: every rank draws the same shuffled global batches and trains
    on its ``1/N`` slice of each, so the run matches a one-process run of the
    same settings up to float rounding.
    """
    n_ranks, my_rank = world_size(), rank()
    if settings.batch_size % n_ranks:
        raise ValueError(
            f"TrainSettings.batch_size={settings.batch_size} must be a multiple of "
            f"the number of ranks ({n_ranks})"
        )
    local_batch = settings.batch_size // n_ranks
    torch.manual_seed(settings.seed)
    sae = TrainingSAE.from_dict({**sae_cfg.to_dict(), "device": settings.device})
    batches = shuffled_batches(acts, settings.batch_size, settings.seed)
    data = (b[my_rank * local_batch : (my_rank + 1) * local_batch] for b in batches)
    trainer_cfg = SAETrainerConfig(
        total_training_samples=settings.n_steps * local_batch,
        train_batch_size_samples=local_batch,
        lr=settings.lr,
        lr_end=settings.lr / 10,
        lr_warm_up_steps=settings.lr_warm_up_steps,
        lr_decay_steps=settings.lr_decay_steps,
        dead_feature_window=settings.dead_feature_window,
        feature_sampling_window=settings.n_steps + 1,
        n_batches_for_norm_estimate=20,
        device=settings.device,
    )
    trainer = Trainer(
        cfg=trainer_cfg,
        sae=sae,
        data_provider=data,
        on_step=[] if on_step is None else [on_step],
        l0_target=l0_target,
        b_dec_init=settings.b_dec_init,
        skip_non_finite_batches=settings.skip_non_finite_batches,
    )
    start = time.perf_counter()
    trained = trainer.fit()
    return trained, time.perf_counter() - start
