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

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal, Protocol

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
from signaware_studies.names import ARCH_NAMES

SA = "sa_gsae"
GATED = "gated"
GATED_VARIANTS = (GATED, "gated_fixed")
#: SAELens's ``normalize_activations`` modes
Normalize = Literal[
    "none", "expected_average_only_in", "layer_norm", "covariance_whitening"
]


class MakeConfig(Protocol):
    """``make(d_in, d_sae, target_l0, normalize_activations)``: one architecture's
    training config; ``normalize_activations`` is shared by every architecture
    of one comparison."""

    def __call__(
        self,
        d_in: int,
        d_sae: int,
        target: float,
        normalize_activations: Normalize = "none",
    ) -> TrainingSAEConfig: ...


@dataclass(frozen=True)
class Arch:
    """One architecture: its width in units of H and how to build its config."""

    name: str
    label: str
    width: float
    signed: bool
    make: MakeConfig
    #: coefficient that ``L0Target`` drives to the target (None: the config does)
    controlled: str | None = None
    #: train with the coefficient where this controlled arch's run settled
    settled_from: str | None = None
    ablation: bool = False

    def d_sae(self, h: int) -> int:
        """The number of latents at ``width * h``; a ValueError if not whole."""
        d_sae = self.width * h
        if d_sae != int(d_sae):
            raise ValueError(f"{self.name}: width {self.width} x H={h} is not whole")
        return int(d_sae)

    def l0_target(self, target: float) -> L0Target | None:
        """The trainer's controller for this architecture, if it needs one."""
        if self.controlled is None:
            return None
        return L0Target(self.controlled, target)


#: the fields of the SA-GSAE's training config (what ``sa_variant`` may override)
SA_FIELDS = frozenset(
    f.name for f in dataclasses.fields(SignAwareGatedTrainingSAEConfig)
)


def sa_variant(**overrides: Any) -> MakeConfig:
    """SA-GSAE config maker: the defaults with the paper's shared encoder
    (``sign_encoders="shared"``, what every recorded study ran), ``target_l0``,
    and ``overrides`` (config fields; an unknown one is refused here, a bad
    value when the config is made)."""
    overrides = {"sign_encoders": "shared", **overrides}
    unknown = sorted(set(overrides) - SA_FIELDS)
    if unknown:
        raise ValueError(
            f"SignAwareGatedTrainingSAEConfig has no field {', '.join(unknown)}"
        )

    def make(
        d_in: int, d_sae: int, target: float, normalize_activations: Normalize = "none"
    ) -> TrainingSAEConfig:
        cfg = SignAwareGatedTrainingSAEConfig(
            d_in=d_in,
            d_sae=d_sae,
            normalize_activations=normalize_activations,
            target_l0=target,
            threshold_init_l0=target,
        )
        return dataclasses.replace(cfg, **overrides)

    return make


def _gated(
    d_in: int,
    d_sae: int,
    target: float,  # noqa: ARG001  (driven by L0Target)
    normalize_activations: Normalize = "none",
) -> TrainingSAEConfig:
    return GatedTrainingSAEConfig(
        d_in=d_in,
        d_sae=d_sae,
        l1_coefficient=10.0,
        normalize_activations=normalize_activations,
    )


def _jumprelu(
    d_in: int, d_sae: int, target: float, normalize_activations: Normalize = "none"
) -> TrainingSAEConfig:
    return JumpReLUTrainingSAEConfig(
        d_in=d_in,
        d_sae=d_sae,
        jumprelu_sparsity_loss_mode="quadratic",
        target_l0=target,
        l0_coefficient=1.0,
        jumprelu_init_threshold=0.1,
        normalize_activations=normalize_activations,
    )


def _k(target: float) -> int:
    return max(1, round(target))


def _topk(
    d_in: int, d_sae: int, target: float, normalize_activations: Normalize = "none"
) -> TrainingSAEConfig:
    return TopKTrainingSAEConfig(
        d_in=d_in,
        d_sae=d_sae,
        k=_k(target),
        normalize_activations=normalize_activations,
    )


def _batchtopk(
    d_in: int, d_sae: int, target: float, normalize_activations: Normalize = "none"
) -> TrainingSAEConfig:
    return BatchTopKTrainingSAEConfig(
        d_in=d_in,
        d_sae=d_sae,
        k=_k(target),
        normalize_activations=normalize_activations,
    )


def _abstopk(
    d_in: int, d_sae: int, target: float, normalize_activations: Normalize = "none"
) -> TrainingSAEConfig:
    return AbsTopKTrainingSAEConfig(
        d_in=d_in,
        d_sae=d_sae,
        k=_k(target),
        normalize_activations=normalize_activations,
    )


ARCHS: dict[str, Arch] = {
    a.name: a
    for a in [
        Arch(SA, "SA-GSAE (H)", 1, True, sa_variant()),
        Arch(
            "sa_per_sign",
            "SA-GSAE per-sign (H)",
            1,
            True,
            sa_variant(sign_encoders="per_sign"),
        ),
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
if tuple(ARCHS) != ARCH_NAMES:  # the names --help lists without importing torch
    raise RuntimeError(
        f"names.ARCH_NAMES {ARCH_NAMES} differ from ARCHS {tuple(ARCHS)}"
    )


def width_name(width: float) -> str:
    """``1 -> "H"``, ``2 -> "2H"``, ``1.5 -> "1.5H"``: a width in units of H, as
    labels write it."""
    return "H" if width == 1 else f"{width:g}H"


def resized(base: str, width: float, name: str | None = None) -> Arch:
    """``ARCHS[base]`` at another ``width`` (in units of H): the same config
    maker, under ``name`` (default ``{base}_{width}h``, ``{base}_h`` at 1) and
    the label with the new width."""
    arch = ARCHS[base]
    stem = arch.label.rsplit(" (", 1)[0]
    return dataclasses.replace(
        arch,
        name=name or f"{base}_{width_name(width).lower()}",
        label=f"{stem} ({width_name(width)})",
        width=width,
    )


#: TopK and BatchTopK at H and 2H under width-suffixed names (issue 10's frame,
#: ``benchmarks/quality_frame.py``, trains both widths side by side)
WIDTH_VARIANTS: dict[str, Arch] = {
    a.name: a
    for a in (
        resized(base, width) for base in ("topk", "batchtopk") for width in (1, 2)
    )
}


def label(arch: str) -> str:
    """The name an architecture has in tables and plots."""
    return ARCHS[arch].label if arch in ARCHS else arch


def settled_coefficient(row: dict[str, Any], d_in: int) -> tuple[str, float]:
    """``(name, value)`` of the coefficient where a controlled run ended."""
    arch = ARCHS[row["arch"]]
    if arch.controlled is None or "final_coefficient_scale" not in row:
        raise ValueError(f"run {row['arch']} was not driven by the controller")
    cfg = arch.make(d_in, row["d_sae"], float(row["target"]))
    base = float(getattr(cfg, f"{arch.controlled}_coefficient"))
    return arch.controlled, base * float(row["final_coefficient_scale"])
