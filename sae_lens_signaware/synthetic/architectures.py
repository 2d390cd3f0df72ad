"""The architectures the synthetic protocols compare, and shared evaluation helpers.

Widths: the SA-GSAE and its threshold/aux ablations at ``H``; SAELens's Gated,
JumpReLU and TopK at ``2H`` (one latent per signed direction); SAELens's AbsTopK
(signed) at ``H``; the one-sided ablation (``two_sided=False``) at ``2H`` as in
the design study. Sparsity is matched to one target L0: ``k`` for TopK and
AbsTopK, ``target_l0`` for the SA-GSAE (its integral controller) and for
JumpReLU (SAELens's quadratic L0 loss), and for Gated an ``l1_coefficient`` of
``GATED_L1 * 4 / target`` (``GATED_L1 = 1`` measured once on the polarity-dial
data to land at L0 3.9 for target 4; a heuristic, so Gated's L0 is reported,
not controlled). Inputs are not normalised (``normalize_activations=
"none"``): the synthetic data are already on unit scale.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from sae_lens import (
    GatedTrainingSAEConfig,
    JumpReLUTrainingSAEConfig,
    TopKTrainingSAEConfig,
)
from sae_lens.saes.abstopk_sae import AbsTopKTrainingSAEConfig
from sae_lens.saes.sae import TrainingSAE, TrainingSAEConfig

from sae_lens_signaware.bench.cached_training import TrainSettings, train_on_cached
from sae_lens_signaware.saes.config import SignAwareGatedTrainingSAEConfig

#: Gated SAE's L1 coefficient at target L0 ``GATED_L1_AT_L0`` (SAELens's Gated SAE
#: has no L0 control); other targets scale it by ``GATED_L1_AT_L0 / target``.
GATED_L1 = 1.0
GATED_L1_AT_L0 = 4.0

COMMON: dict[str, Any] = {"normalize_activations": "none"}


def _sa(**overrides: Any) -> Callable[[int, int, float], TrainingSAEConfig]:
    def build(d: int, h: int, l0: float) -> TrainingSAEConfig:
        return SignAwareGatedTrainingSAEConfig(
            d_in=d,
            d_sae=h,
            target_l0=l0,
            threshold_init_l0=l0,
            **COMMON,
            **overrides,
        )

    return build


def _gated(d: int, h: int, l0: float) -> TrainingSAEConfig:
    l1 = GATED_L1 * GATED_L1_AT_L0 / l0
    return GatedTrainingSAEConfig(d_in=d, d_sae=h, l1_coefficient=l1, **COMMON)


def _jumprelu(d: int, h: int, l0: float) -> TrainingSAEConfig:
    return JumpReLUTrainingSAEConfig(
        d_in=d,
        d_sae=h,
        jumprelu_sparsity_loss_mode="quadratic",
        target_l0=l0,
        l0_coefficient=1.0,
        jumprelu_init_threshold=0.1,
        **COMMON,
    )


def _topk(d: int, h: int, l0: float) -> TrainingSAEConfig:
    return TopKTrainingSAEConfig(d_in=d, d_sae=h, k=max(1, round(l0)), **COMMON)


def _abstopk(d: int, h: int, l0: float) -> TrainingSAEConfig:
    return AbsTopKTrainingSAEConfig(d_in=d, d_sae=h, k=max(1, round(l0)), **COMMON)


@dataclass(frozen=True)
class Architecture:
    name: str
    width_multiplier: int
    signed: bool
    build: Callable[[int, int, float], TrainingSAEConfig]


ARCHITECTURES: dict[str, Architecture] = {
    a.name: a
    for a in [
        Architecture("sa_gsae", 1, True, _sa()),
        Architecture("gated_2x", 2, False, _gated),
        Architecture("jumprelu_2x", 2, False, _jumprelu),
        Architecture("topk_2x", 2, False, _topk),
        Architecture("abstopk", 1, True, _abstopk),
        Architecture("sa_one_sided_2x", 2, False, _sa(two_sided=False)),
        Architecture("sa_no_aux", 1, True, _sa(aux_coefficient=0.0)),
        Architecture("sa_untied", 1, True, _sa(tie_thresholds=False)),
    ]
}
SIGNED = [name for name, a in ARCHITECTURES.items() if a.signed]


def train_architecture(
    name: str,
    x_train: torch.Tensor,
    h: int,
    l0: float,
    settings: TrainSettings,
) -> TrainingSAE[Any]:
    arch = ARCHITECTURES[name]
    cfg = arch.build(x_train.shape[1], arch.width_multiplier * h, l0)
    sae, _ = train_on_cached(cfg, x_train, settings)
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
