"""The one registry of architectures that the SA-GSAE is compared with.

Every comparison (``sae-signaware compare``, the synthetic protocols, the
studies in ``benchmarks/``) takes its architectures from ``ARCHS``. Widths are
multiples of ``H``: the signed SAEs (SA-GSAE, its ablations, AbsTopK) at H,
the non-negative ones (Gated, JumpReLU, TopK, BatchTopK) at 2H, so every
architecture has the same number of signed directions.

How each lands on a target L0 ``T``, with SAELens's own option where it has one:

- SA-GSAE and its ablations: ``target_l0=T`` (the config's controller), with
  the first-step thresholds set for L0 ``T`` (``threshold_init_l0=T``);
- TopK, BatchTopK and AbsTopK: ``k=T``;
- JumpReLU: SAELens's ``target_l0=T`` (its ``"quadratic"`` sparsity loss);
- Gated has no target option, so ``training.trainer.L0Target`` drives its
  ``l1`` coefficient (from 10) with the SA-GSAE's controller;
- Gated at a fixed ``l1`` (``gated_fixed``): the controller's moving ``l1``
  costs Gated explained variance (mlp_out: fixed ``l1=15`` gave EV 0.577 at
  L0 16.8, the controlled curve 0.529 there), so it is trained again from
  scratch with ``l1`` fixed where the controlled run of the same cell, target
  and seed settled. It lands near, not on, the target.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sae_lens import (
    BatchTopKTrainingSAEConfig,
    GatedTrainingSAEConfig,
    JumpReLUTrainingSAEConfig,
    TopKTrainingSAEConfig,
)
from sae_lens.saes.abstopk_sae import AbsTopKTrainingSAEConfig
from sae_lens.saes.sae import TrainingSAEConfig

from sae_lens_signaware.saes.config import SignAwareGatedTrainingSAEConfig
from sae_lens_signaware.training.trainer import L0Target

SA = "sa_gsae"
GATED = "gated"
GATED_VARIANTS = (GATED, "gated_fixed")
#: ``make(d_in, d_sae, target_l0, **common)``: ``common`` holds fields every
#: architecture shares in one comparison (``normalize_activations``).
MakeConfig = Callable[..., TrainingSAEConfig]


@dataclass(frozen=True)
class Arch:
    """One architecture: its width in units of H and how to build its config."""

    name: str
    label: str
    width: int
    signed: bool
    make: MakeConfig
    #: coefficient that ``L0Target`` drives to the target (None: the config does)
    controlled: str | None = None
    #: train with the coefficient where this controlled arch's run settled
    settled_from: str | None = None
    ablation: bool = False

    def l0_target(self, target: float) -> L0Target | None:
        """The trainer's controller for this architecture, if it needs one."""
        if self.controlled is None:
            return None
        return L0Target(self.controlled, target)


def sa_variant(**overrides: Any) -> MakeConfig:
    """SA-GSAE config maker: the defaults, ``target_l0``, and ``overrides``."""

    def make(d_in: int, d_sae: int, target: float, **common: Any) -> TrainingSAEConfig:
        fields = {"target_l0": target, "threshold_init_l0": target, **overrides}
        return SignAwareGatedTrainingSAEConfig(
            d_in=d_in, d_sae=d_sae, **common, **fields
        )

    return make


def _gated(d_in: int, d_sae: int, target: float, **common: Any) -> TrainingSAEConfig:  # noqa: ARG001
    return GatedTrainingSAEConfig(d_in=d_in, d_sae=d_sae, l1_coefficient=10.0, **common)


def _jumprelu(d_in: int, d_sae: int, target: float, **common: Any) -> TrainingSAEConfig:
    return JumpReLUTrainingSAEConfig(
        d_in=d_in,
        d_sae=d_sae,
        jumprelu_sparsity_loss_mode="quadratic",
        target_l0=target,
        l0_coefficient=1.0,
        jumprelu_init_threshold=0.1,
        **common,
    )


def _k(target: float) -> int:
    return max(1, round(target))


def _topk(d_in: int, d_sae: int, target: float, **common: Any) -> TrainingSAEConfig:
    return TopKTrainingSAEConfig(d_in=d_in, d_sae=d_sae, k=_k(target), **common)


def _batchtopk(
    d_in: int, d_sae: int, target: float, **common: Any
) -> TrainingSAEConfig:
    return BatchTopKTrainingSAEConfig(d_in=d_in, d_sae=d_sae, k=_k(target), **common)


def _abstopk(d_in: int, d_sae: int, target: float, **common: Any) -> TrainingSAEConfig:
    return AbsTopKTrainingSAEConfig(d_in=d_in, d_sae=d_sae, k=_k(target), **common)


ARCHS: dict[str, Arch] = {
    a.name: a
    for a in [
        Arch(SA, "SA-GSAE (H)", 1, True, sa_variant()),
        Arch(GATED, "Gated (2H)", 2, False, _gated, controlled="l1"),
        Arch(
            "gated_fixed", "Gated, fixed l1 (2H)", 2, False, _gated, settled_from=GATED
        ),
        Arch("jumprelu", "JumpReLU (2H)", 2, False, _jumprelu),
        Arch("topk", "TopK (2H)", 2, False, _topk),
        Arch("batchtopk", "BatchTopK (2H)", 2, False, _batchtopk),
        Arch("abstopk", "AbsTopK (H)", 1, True, _abstopk),
        Arch(
            "sa_one_sided",
            "SA one-sided gate (H)",
            1,
            False,
            sa_variant(two_sided=False),
            ablation=True,
        ),
        Arch(
            "sa_no_aux",
            "SA no aux (H)",
            1,
            True,
            sa_variant(aux_coefficient=0.0),
            ablation=True,
        ),
        Arch(
            "sa_untied",
            "SA untied thresholds (H)",
            1,
            True,
            sa_variant(tie_thresholds=False),
            ablation=True,
        ),
    ]
}
SIGNED = [name for name, arch in ARCHS.items() if arch.signed]


def label(arch: str) -> str:
    """The name an architecture has in tables and plots."""
    return ARCHS[arch].label if arch in ARCHS else arch


def settled_coefficient(row: dict[str, Any], d_in: int) -> tuple[str, float]:
    """``(name, value)`` of the coefficient where a controlled run ended."""
    arch = ARCHS[row["arch"]]
    if arch.controlled is None or "final_coefficient_scale" not in row:
        raise ValueError(f"run {row['arch']} was not driven by the controller")
    cfg = arch.make(d_in, row["d_sae"], float(row["target"]))
    base = getattr(cfg, f"{arch.controlled}_coefficient")
    return arch.controlled, base * float(row["final_coefficient_scale"])
