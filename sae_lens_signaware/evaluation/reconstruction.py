"""Reconstruction metrics and the sign census on a tensor of cached activations."""

from typing import Any

import torch
from sae_lens.saes.sae import SAE

from sae_lens_signaware.analysis.census import CensusAccumulator


@torch.no_grad()
def reconstruction_metrics(
    sae: SAE[Any], acts: torch.Tensor, batch_size: int = 8192
) -> dict[str, float]:
    """``l0``, ``explained_variance`` (``1 - sum ||x - x_hat||^2 / sum ||x - mean||^2``
    over all rows, as ``run_evals``), ``mse`` (mean over rows of ``||x - x_hat||^2``)
    and ``Census.summary``'s other keys (a latent is dead when it fires on none of the rows).
    """
    was_training = sae.training
    sae.eval()
    acc = CensusAccumulator(sae.W_dec.detach().pow(2).sum(-1))
    sq_err = 0.0
    for start in range(0, acts.shape[0], batch_size):
        x = acts[start : start + batch_size].to(sae.device)
        f = sae.encode(x)
        sq_err += (sae.decode(f) - x).pow(2).sum().item()
        acc.update(f)
    sae.train(was_training)
    total_var = (acts - acts.mean(0)).pow(2).sum().item()
    summary = acc.result().summary()
    for key in ("n_tokens", "d_sae"):  # the caller knows them
        summary.pop(key)
    return {
        "explained_variance": 1 - sq_err / total_var,
        "mse": sq_err / acts.shape[0],
        **summary,
    }
