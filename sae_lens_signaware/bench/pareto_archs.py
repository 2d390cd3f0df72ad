"""The architectures of the Pareto benchmark, each brought to a target L0.

Widths are in units of ``H = 4 * d_model``: the signed SAEs (SA-GSAE, its
ablations, AbsTopK) at H, the non-negative ones (Gated, JumpReLU, TopK) at 2H,
so every architecture has the same number of signed directions.

How each lands on the target ``T``:

- SA-GSAE and its ablations: ``target_l0=T`` on our config (its own controller).
- TopK and AbsTopK: ``k=T``.
- Gated (``l1`` coefficient) and JumpReLU (``l0`` coefficient) have no target
  option of their own, so the same log-space PI controller our config uses
  (``saes/l0_controller.py``, same gains) is attached from outside: it wraps the
  SAE's ``training_forward_pass``, scales that coefficient by
  ``exp(log_scale)`` each step and updates ``log_scale`` from the batch L0.
  Gated starts from ``l1_coefficient=10``, JumpReLU from ``l0_coefficient=1``.
  In short runs Gated reaches low L0 only by collapsing (a fixed ``l1=100``
  does the same at 200 steps), which the benchmark then reports as such.
"""

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import torch
from sae_lens import (
    GatedTrainingSAEConfig,
    JumpReLUTrainingSAEConfig,
    TopKTrainingSAEConfig,
)
from sae_lens.saes.abstopk_sae import AbsTopKTrainingSAEConfig
from sae_lens.saes.sae import TrainingSAE, TrainingSAEConfig, TrainStepInput

from sae_lens_signaware.saes.config import SignAwareGatedTrainingSAEConfig
from sae_lens_signaware.saes.l0_controller import update_controller

NORMALIZE = "expected_average_only_in"
SA = "sa_gsae"
GATED = "gated"
CONTROLLER_GAIN = SignAwareGatedTrainingSAEConfig.target_l0_gain
CONTROLLER_PROPORTIONAL = SignAwareGatedTrainingSAEConfig.target_l0_proportional


@dataclass(frozen=True)
class Arch:
    """One architecture: its width in units of H and how to build its config."""

    name: str
    label: str
    width: int  # multiple of H = 4 * d_model
    make: Callable[[int, int, float], TrainingSAEConfig]  # (d_in, d_sae, target)
    controlled: str | None = None  # coefficient driven from outside to the target
    ablation: bool = False


def _sa(**overrides: Any) -> Callable[[int, int, float], TrainingSAEConfig]:
    def make(d_in: int, d_sae: int, target: float) -> TrainingSAEConfig:
        return SignAwareGatedTrainingSAEConfig(
            d_in=d_in,
            d_sae=d_sae,
            normalize_activations=NORMALIZE,
            target_l0=target,
            **overrides,
        )

    return make


def _gated(d_in: int, d_sae: int, target: float) -> TrainingSAEConfig:  # noqa: ARG001
    return GatedTrainingSAEConfig(
        d_in=d_in, d_sae=d_sae, normalize_activations=NORMALIZE, l1_coefficient=10.0
    )


def _jumprelu(d_in: int, d_sae: int, target: float) -> TrainingSAEConfig:  # noqa: ARG001
    # As our defaults: STE to the input and a 0.5 initial threshold (SAELens's
    # 0.01 barely moves in a short run: L0 stays in the hundreds).
    return JumpReLUTrainingSAEConfig(
        d_in=d_in,
        d_sae=d_sae,
        normalize_activations=NORMALIZE,
        l0_coefficient=1.0,
        jumprelu_ste_to_input=True,
        jumprelu_init_threshold=0.5,
    )


def _topk(d_in: int, d_sae: int, target: float) -> TrainingSAEConfig:
    return TopKTrainingSAEConfig(
        d_in=d_in, d_sae=d_sae, normalize_activations=NORMALIZE, k=round(target)
    )


def _abstopk(d_in: int, d_sae: int, target: float) -> TrainingSAEConfig:
    return AbsTopKTrainingSAEConfig(
        d_in=d_in, d_sae=d_sae, normalize_activations=NORMALIZE, k=round(target)
    )


ARCHS: dict[str, Arch] = {
    a.name: a
    for a in [
        Arch(SA, "SA-GSAE (H)", 1, _sa()),
        Arch(GATED, "Gated (2H)", 2, _gated, controlled="l1"),
        Arch("jumprelu", "JumpReLU (2H)", 2, _jumprelu, controlled="l0"),
        Arch("topk", "TopK (2H)", 2, _topk),
        Arch("abstopk", "AbsTopK (H)", 1, _abstopk),
        Arch(
            "sa_one_sided",
            "SA one-sided gate (H)",
            1,
            _sa(two_sided=False),
            ablation=True,
        ),
        Arch("sa_no_aux", "SA no aux (H)", 1, _sa(aux_coefficient=0.0), ablation=True),
        Arch(
            "sa_untied",
            "SA untied thresholds (H)",
            1,
            _sa(tie_thresholds=False),
            ablation=True,
        ),
    ]
}


def attach_l0_controller(
    sae: TrainingSAE[Any],
    coefficient: str,
    target_l0: float,
    gain: float = CONTROLLER_GAIN,
    proportional: float = CONTROLLER_PROPORTIONAL,
) -> torch.Tensor:
    """Drive ``coefficient`` of ``sae`` so its training L0 settles on ``target_l0``.

    Returns the controller state ``[integral, log_scale]`` (updated in place).
    """
    state = torch.zeros(2)
    forward = sae.training_forward_pass

    def controlled(step_input: TrainStepInput) -> Any:
        coefficients = dict(step_input.coefficients)
        coefficients[coefficient] *= float(state[1].exp())
        output = forward(replace(step_input, coefficients=coefficients))
        batch_l0 = float((output.feature_acts.detach() != 0).float().sum(-1).mean())
        update_controller(state, batch_l0, target_l0, gain, proportional)
        output.metrics["sparsity_scale"] = float(state[1].exp())
        return output

    sae.training_forward_pass = controlled  # type: ignore[method-assign]
    return state
