"""What the two training-step paths take and give.

``fused_step.step_terms`` and ``reference_step.loss_terms`` take the centred
input and the parameters (``StepTensors``) and the options that change the math
(``StepSpec``); the fused path returns every term of the step (``StepTerms``),
the reference path the sparsity and auxiliary terms that SAELens's step asks
for. The SAE class turns them into SAELens's ``TrainStepOutput``, so the paths
never see the module.
"""

from dataclasses import dataclass
from typing import NamedTuple

import torch

#: The crossover measured on a 2-core CPU at d_in 512, H 8192, batch 2048
#: (``benchmarks/speed.py --crossover``, ``docs/results/speed/crossover.json``):
#: the sparse step took 0.61 of the dense one at 10% of positions in ``P`` and
#: 1.60 at 20% (about 14% at parity); 0.12 keeps to the side where sparse wins.
DEFAULT_MAX_DENSITY = 0.12


@dataclass(frozen=True)
class StepSpec:
    """The options of the step that change its math."""

    two_sided: bool
    sparsity: str
    bandwidth: float
    ste_to_input: bool
    learn_thresholds: bool
    max_density: float = DEFAULT_MAX_DENSITY

    @property
    def needs_window(self) -> bool:
        """Whether the straight-through estimator is used at all."""
        return self.learn_thresholds or self.ste_to_input


class StepTensors(NamedTuple):
    """The centred input ``x~`` ``[B, d_in]`` and the parameters of one step.

    ``theta_pos``/``theta_neg`` are float32 (detached when the thresholds do not
    learn); ``W_aux``/``b_aux`` are the decoder the auxiliary loss sees
    (detached with ``aux_detach_decoder``).
    """

    sae_in: torch.Tensor
    W_enc: torch.Tensor
    b_gate: torch.Tensor
    b_mag: torch.Tensor
    r_mag: torch.Tensor
    theta_pos: torch.Tensor
    theta_neg: torch.Tensor
    W_dec: torch.Tensor
    W_aux: torch.Tensor
    b_aux: torch.Tensor


class StepTerms(NamedTuple):
    """What a step path computes, before the SAE's hooks.

    ``feature_acts`` ``f`` and ``hidden_pre`` ``pi_mag`` ``[B, d_sae]``;
    ``recon = f @ W_dec`` (no ``b_dec``); ``aux_recon = s @ W_aux + b_aux`` (the
    soft gate's reconstruction); ``penalty`` ``[B]``, the per-row sparsity
    penalty before its coefficient.
    """

    feature_acts: torch.Tensor
    hidden_pre: torch.Tensor
    recon: torch.Tensor
    aux_recon: torch.Tensor
    penalty: torch.Tensor
