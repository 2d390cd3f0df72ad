"""Training: SAELens's runner and trainer with our additions, and training on cached activations.

- ``runner``: ``SignAwareTrainingRunner`` and ``run_training`` (language-model
  runs, the ``d_in`` check, step callbacks).
- ``trainer``: ``Trainer``, SAELens's ``SAETrainer`` with step callbacks, an
  outside L0 controller (``L0Target``) and ``b_dec`` initialisation.
- ``cached``: ``train_on_cached``, any SAELens training SAE on a tensor of
  activations.
- ``multi``: ``train_many``, many SAEs from one activation stream (SAELens's
  multi-SAE runner with seeding, atomic output and clean interrupts).
- reliability: ``guards`` (NaN/inf), ``interrupts`` (Ctrl-C, SIGTERM),
  ``checkpoints`` (written whole), ``data_parallel`` (``torch.distributed``).
"""

from sae_lens_signaware.training.cached import TrainSettings, train_on_cached
from sae_lens_signaware.training.runner import SignAwareTrainingRunner, run_training
from sae_lens_signaware.training.trainer import L0Target, Trainer

__all__ = [
    "L0Target",
    "SignAwareTrainingRunner",
    "TrainSettings",
    "Trainer",
    "run_training",
    "train_on_cached",
]
