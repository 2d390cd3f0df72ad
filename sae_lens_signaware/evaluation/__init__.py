"""Evaluation of trained SAEs, with SAELens's metric names.

- ``held_out.evaluate``: ``run_evals`` (L0, explained variance, CE loss score,
  KL) and the sign census on held-out text.
- ``reconstruction.reconstruction_metrics``: L0, explained variance, MSE and the
  census on a tensor of cached activations.
- ``ce_loss.ce_loss_score``: CE loss with the SAE spliced in, on token windows.

Names follow ``run_evals``: ``ce_loss_score`` is the CE loss recovered,
``(CE_with_ablation - CE_with_sae) / (CE_with_ablation - CE_without_sae)``.
"""

from sae_lens_signaware.evaluation.ce_loss import ce_loss_score
from sae_lens_signaware.evaluation.held_out import (
    check_eval_batches,
    evaluate,
    text_dataset,
)
from sae_lens_signaware.evaluation.reconstruction import reconstruction_metrics

__all__ = [
    "ce_loss_score",
    "check_eval_batches",
    "evaluate",
    "reconstruction_metrics",
    "text_dataset",
]
