"""Config dataclasses of the Sign-Aware Gated SAE, with validation that names the field."""

import math
from dataclasses import dataclass
from typing import Literal

from sae_lens.saes.sae import SAEConfig, TrainingSAEConfig
from typing_extensions import override

ARCHITECTURE = "sign_aware_gated"
SPARSITY_MODES = ("l1", "l0")


@dataclass
class SignAwareGatedSAEConfig(SAEConfig):
    """Inference config.

    Args:
        two_sided: the gate opens on both sides of the dead zone (the SA-GSAE).
            False keeps only ``pi_gate > theta_pos``: a Gated SAE with a threshold.
    """

    two_sided: bool = True

    @override
    @classmethod
    def architecture(cls) -> str:
        return ARCHITECTURE


@dataclass(kw_only=True)
class SignAwareGatedTrainingSAEConfig(TrainingSAEConfig):
    """Training config. Defaults are the scheme chosen in ``docs/architecture.md``.

    Args:
        two_sided: two-sided gate (False: one-sided ablation, a Gated SAE at
            ``threshold_init=0``).
        sparsity: ``"l1"``, the paper's ``sum_i ||W_dec[i]|| |s_i|`` on the soft
            gate, or ``"l0"``, ``sum_i (g_pos + g_neg)`` with a straight-through
            estimator for the thresholds (rectangle kernel, ``bandwidth``).
        l1_coefficient: weight of the ``"l1"`` penalty.
        l0_coefficient: weight of the ``"l0"`` penalty.
        sparsity_warm_up_steps: linear warm-up of the active sparsity coefficient.
        aux_coefficient: weight of the auxiliary soft-gate reconstruction (0 ablates it).
        aux_detach_decoder: the auxiliary loss sees ``W_dec`` and ``b_dec``
            detached (the paper); False lets it move them (SAELens's Gated SAE).
        tie_thresholds: one threshold per latent (``theta_pos = theta_neg``);
            False learns both sides apart.
        threshold_init: initial threshold, in units of the (normalised) gate
            pre-activation; also the value dead latents are reset to.
        threshold_init_l0: if set, the first training step sets each latent's
            thresholds from that batch so the expected L0 is this number.
        bandwidth: width of the straight-through rectangle kernel.
        ste_to_input: the straight-through estimator also reaches ``pi_gate``
            (so the encoder), not only the thresholds: the L0 penalty then
            pushes gate pre-activations into the dead zone (SAELens's
            ``jumprelu_ste_to_input``).
        unit_norm_encoder: keep the columns of ``W_enc`` at unit norm during
            training, so the gate pre-activation is a projection of the input
            and the encoder cannot escape the dead zone by growing.
        reset_dead_thresholds: a latent that has not fired for the trainer's
            ``dead_feature_window`` steps gets its thresholds reset to
            ``threshold_init`` (counted in the ``threshold_resets`` metric).
    """

    two_sided: bool = True
    sparsity: Literal["l1", "l0"] = "l0"
    l1_coefficient: float = 1.0
    l0_coefficient: float = 1.0
    sparsity_warm_up_steps: int = 0
    aux_coefficient: float = 1.0
    aux_detach_decoder: bool = True
    tie_thresholds: bool = True
    threshold_init: float = 0.5
    threshold_init_l0: float | None = None
    bandwidth: float = 0.1
    ste_to_input: bool = False
    unit_norm_encoder: bool = True
    reset_dead_thresholds: bool = True

    @override
    @classmethod
    def architecture(cls) -> str:
        return ARCHITECTURE

    def __post_init__(self) -> None:
        validate_training_config(self)
        super().__post_init__()


def _require(ok: bool, field_name: str, value: object, rule: str) -> None:
    if not ok:
        raise ValueError(
            f"SignAwareGatedTrainingSAEConfig.{field_name} must be {rule}, got {value!r}."
        )


def validate_training_config(cfg: SignAwareGatedTrainingSAEConfig) -> None:
    """Raise a ValueError naming the first field that is out of range."""
    _require(
        cfg.sparsity in SPARSITY_MODES, "sparsity", cfg.sparsity, f"one of {SPARSITY_MODES}"
    )
    for name in ("l1_coefficient", "l0_coefficient", "aux_coefficient", "threshold_init"):
        value = getattr(cfg, name)
        ok = isinstance(value, (int, float)) and math.isfinite(value) and value >= 0
        _require(ok, name, value, "a finite number >= 0")
    bandwidth = cfg.bandwidth
    ok = isinstance(bandwidth, (int, float)) and math.isfinite(bandwidth) and bandwidth > 0
    _require(ok, "bandwidth", bandwidth, "a finite number > 0")
    l0 = cfg.threshold_init_l0
    ok = l0 is None or (isinstance(l0, (int, float)) and math.isfinite(l0) and l0 > 0)
    _require(ok, "threshold_init_l0", l0, "None or a finite number > 0")
    warm = cfg.sparsity_warm_up_steps
    _require(isinstance(warm, int) and warm >= 0, "sparsity_warm_up_steps", warm, "an int >= 0")
    for name in ("d_in", "d_sae"):
        value = getattr(cfg, name)
        _require(isinstance(value, int) and value > 0, name, value, "an int > 0")
