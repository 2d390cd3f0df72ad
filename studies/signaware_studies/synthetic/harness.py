"""Train the compared architectures on synthetic data, and the measures the protocols share.

The architectures are ``baselines.ARCHS`` (the registry every
comparison uses: signed ones at H, non-negative ones at 2H, each brought to the
target L0 as described there), less those that need an earlier run
(``gated_fixed``). Inputs are not normalised (``normalize_activations="none"``):
the synthetic data are already on unit scale.
"""

from typing import Any

import torch
from sae_lens.saes.sae import TrainingSAE

from sae_lens_signaware.training import TrainSettings, train_on_cached
from signaware_studies.baselines import ARCHS, SIGNED
from signaware_studies.names import SYNTHETIC_ARCH_NAMES

#: what the protocols train by default
SYNTHETIC_ARCHS = list(SYNTHETIC_ARCH_NAMES)
SYNTHETIC_SIGNED = [name for name in SYNTHETIC_ARCHS if name in SIGNED]


def train_architecture(
    name: str,
    x_train: torch.Tensor,
    h: int,
    l0: float,
    settings: TrainSettings,
) -> TrainingSAE[Any]:
    """Train ``ARCHS[name]`` at width ``ARCHS[name].width * h`` to target L0 ``l0``."""
    arch = ARCHS[name]
    cfg = arch.make(x_train.shape[1], arch.d_sae(h), l0, normalize_activations="none")
    sae, _ = train_on_cached(cfg, x_train, settings, l0_target=arch.l0_target(l0))
    return sae.eval()


@torch.no_grad()
def encode(sae: TrainingSAE[Any], x: torch.Tensor) -> torch.Tensor:
    return sae.encode(x)


@torch.no_grad()
def mse_and_l0(
    sae: TrainingSAE[Any], x: torch.Tensor, f: torch.Tensor
) -> dict[str, float]:
    """Mean squared error per token (summed over dims), L0, and explained variance."""
    err = (sae.decode(f) - x).pow(2).sum(-1).mean().item()
    var = (x - x.mean(0)).pow(2).sum(-1).mean().item()
    return {
        "mse": err,
        "l0": (f != 0).float().sum(-1).mean().item(),
        "explained_variance": 1 - err / var,
    }


@torch.no_grad()
def decoder_cos(sae: TrainingSAE[Any], directions: torch.Tensor) -> torch.Tensor:
    """``d_sae x n_axes`` cosine between decoder rows and the true directions."""
    w = sae.W_dec / sae.W_dec.norm(dim=1, keepdim=True).clamp(min=1e-8)
    v = directions / directions.norm(dim=1, keepdim=True)
    return w @ v.T


def auroc(scores: torch.Tensor, labels: torch.Tensor) -> float:
    """Area under the ROC curve (Mann-Whitney, ties counted half)."""
    labels = labels.bool()
    n_pos, n_neg = int(labels.sum()), int((~labels).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = scores.double().argsort()
    ranks = torch.empty_like(order, dtype=torch.float64)
    ranks[order] = torch.arange(1, len(scores) + 1, dtype=torch.float64)
    # average ranks over ties
    sorted_scores = scores.double()[order]
    _, inverse, counts = torch.unique_consecutive(
        sorted_scores, return_inverse=True, return_counts=True
    )
    cum = counts.cumsum(0).double()
    mean_rank = cum - (counts.double() - 1) / 2
    ranks[order] = mean_rank[inverse]
    rank_sum = ranks[labels].sum().item()
    return (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
