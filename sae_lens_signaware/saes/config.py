"""Config dataclasses of the Sign-Aware Gated SAE, with validation that names the field."""

import math
from dataclasses import dataclass
from typing import Literal

from sae_lens.saes.sae import SAEConfig, TrainingSAEConfig
from typing_extensions import override

from sae_lens_signaware.saes.fused import DEFAULT_MAX_DENSITY
from sae_lens_signaware.saes.validation import check_fields

ARCHITECTURE = "sign_aware_gated"
SPARSITY_MODES = ("l1", "l0")
SUPPORTS = ("gate", "batch_topk")

#: Options at their plain settings: the paper's losses with none of our training
#: aids. With these and ``two_sided=False`` the forward pass and the losses are
#: SAELens's Gated SAE's, and so are the gradients of every parameter Gated has;
#: the threshold still learns (straight-through gradients from the
#: reconstruction) unless ``learn_thresholds=False`` too, which freezes it at 0
#: and makes training follow Gated's step for step (``fused_step=False`` for
#: bit-for-bit; the fused step agrees to float rounding).
PLAIN_SETTINGS: dict[str, object] = {
    "sparsity": "l1",
    "threshold_init": 0.0,
    "threshold_init_l0": None,
    "ste_to_input": False,
    "unit_norm_encoder": False,
    "reset_dead_thresholds": False,
    "aux_detach_decoder": False,
    "aux_coefficient": 1.0,
}


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

    def __post_init__(self) -> None:
        check_fields(self)  # types of every field (cfg.json gives strings)
        super().__post_init__()


@dataclass(kw_only=True)
class SignAwareGatedTrainingSAEConfig(TrainingSAEConfig):
    """Training config. Defaults are the scheme chosen in ``docs/architecture.md``,
    with ``bandwidth`` and ``aux_coefficient`` re-chosen by issue 10's frame
    (``docs/results.md``; the earlier defaults were 0.3 and 1.0).

    Args:
        two_sided: two-sided gate (False: one-sided ablation, a Gated SAE at
            ``threshold_init=0``).
        sparsity: ``"l1"``, the paper's ``sum_i ||W_dec[i]|| |s_i|`` on the soft
            gate, or ``"l0"``, ``sum_i (g_pos + g_neg)`` with a straight-through
            estimator for the thresholds (rectangle kernel, ``bandwidth``).
        l1_coefficient: weight of the ``"l1"`` penalty.
        l0_coefficient: weight of the ``"l0"`` penalty.
        negative_l0_weight: with ``"l0"``, a negative firing costs this many
            positive ones (``sum_i (g_pos + w g_neg)``): above 1 a latent opens
            its negative side only where that pays more than a positive firing.
        sparsity_warm_up_steps: linear warm-up of the active sparsity coefficient.
        aux_coefficient: weight of the auxiliary soft-gate reconstruction (0 ablates it).
            0.3 (was 1.0): +0.003 of explained variance at lr 3e-3 alone, and
            with ``bandwidth=1`` it keeps dead latents under 1%.
        aux_detach_decoder: the auxiliary loss sees ``W_dec`` and ``b_dec``
            detached (the paper); False (default, better in our study) lets it
            move them, as SAELens's Gated SAE does.
        tie_thresholds: one threshold per latent (``theta_pos = theta_neg``);
            False learns both sides apart.
        threshold_init: initial threshold, in units of the (normalised) gate
            pre-activation; also the value dead latents are reset to.
        learn_thresholds: the thresholds get straight-through gradients (False
            freezes them where ``threshold_init``/``threshold_init_l0`` put them).
        fused_step: run the training step as one autograd function
            (``saes/fused.py``: one encoder matmul, gates computed once, sparse
            products); False runs the reference ops of ``saes/bi_jump_relu.py``.
        sparse_max_density: the fused step uses sparse products when at most
            this share of ``[batch, d_sae]`` positions can carry a gradient
            (measured crossover, ``benchmarks/speed.py --crossover``); 0 is always dense.
        threshold_init_l0: if set, the first training step sets each latent's
            thresholds from that batch so the expected L0 is this number.
        init_negative_share: with untied two-sided thresholds and
            ``threshold_init_l0``, the share of the initial firing rate given to
            the negative side (0.5: both sides alike; small values start each
            latent nearly one-sided and let training open its second side).
        bandwidth: width of the straight-through rectangle kernel, in units of the
            gate pre-activation. 1.0 (was 0.3): with ``aux_coefficient=0.3``,
            +0.015 of explained variance in issue 10's frame.
        ste_to_input: the straight-through estimator also reaches ``pi_gate``
            (so the encoder), not only the thresholds: the L0 penalty then
            pushes gate pre-activations into the dead zone (SAELens's
            ``jumprelu_ste_to_input``).
        unit_norm_encoder: keep the columns of ``W_enc`` at unit norm during
            training, so the gate pre-activation is a projection of the input
            and the encoder cannot escape the dead zone by growing.
        unit_norm_decoder: keep the rows of ``W_dec`` at unit norm during
            training (as TopK SAEs do), folding each row's norm into the
            magnitude path (``r_mag += log ||d_i||``, ``b_mag *= ||d_i||``) so
            the reconstruction is unchanged by the projection.
        target_l0: if set, the sparsity coefficient is scaled each step by a
            log-space integral controller so the training L0 settles on this
            value (``saes/l0_controller.py``); logged as ``sparsity_scale``.
        target_l0_gain: the controller's integral gain per step.
        target_l0_proportional: the controller's proportional gain (damping).
        support: ``"gate"`` (default): the Bi-Jump-ReLU's gates pick the support
            during training, as at inference. ``"batch_topk"``: a batch-level
            top-k on ``|pi_gate|`` (k = ``target_l0``) picks it during training,
            with no sparsity penalty, and the thresholds are fitted to the
            batch's cut for inference (``saes/batch_topk_support.py``); there
            ``aux_coefficient`` weighs AuxK (dead latents reconstruct the
            residual) instead of the soft-gate loss. Use with
            ``tie_thresholds=False`` (the fit is exact per side).
        reset_dead_thresholds: a latent that has not fired for the trainer's
            ``dead_feature_window`` steps gets its thresholds reset to
            ``threshold_init`` (counted in the ``threshold_resets`` metric).
    """

    two_sided: bool = True
    sparsity: Literal["l1", "l0"] = "l0"
    l1_coefficient: float = 1.0
    l0_coefficient: float = 3.0
    negative_l0_weight: float = 1.0
    sparsity_warm_up_steps: int = 0
    aux_coefficient: float = 0.3
    aux_detach_decoder: bool = False
    tie_thresholds: bool = True
    threshold_init: float = 0.5
    threshold_init_l0: float | None = 16.0
    init_negative_share: float = 0.5
    bandwidth: float = 1.0
    ste_to_input: bool = True
    unit_norm_encoder: bool = True
    unit_norm_decoder: bool = False
    reset_dead_thresholds: bool = True
    target_l0: float | None = None
    target_l0_gain: float = 0.02
    target_l0_proportional: float = 4.0
    learn_thresholds: bool = True
    fused_step: bool = True
    sparse_max_density: float = DEFAULT_MAX_DENSITY
    support: Literal["gate", "batch_topk"] = "gate"

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


def _finite(value: object) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def validate_training_config(cfg: SignAwareGatedTrainingSAEConfig) -> None:
    """Raise a ValueError naming the first field of the wrong type or out of range
    (bool words such as ``"false"`` are parsed in place, see ``saes/validation.py``)."""
    check_fields(cfg)
    modes = SPARSITY_MODES
    _require(cfg.sparsity in modes, "sparsity", cfg.sparsity, f"one of {modes}")
    for name in (
        "l1_coefficient",
        "l0_coefficient",
        "aux_coefficient",
        "threshold_init",
        "negative_l0_weight",
    ):
        value = getattr(cfg, name)
        _require(_finite(value) and value >= 0, name, value, "a finite number >= 0")
    for name in ("target_l0_proportional",):
        value = getattr(cfg, name)
        _require(_finite(value) and value >= 0, name, value, "a finite number >= 0")
    for name in ("bandwidth", "target_l0_gain"):
        value = getattr(cfg, name)
        _require(_finite(value) and value > 0, name, value, "a finite number > 0")
    for name in ("target_l0", "threshold_init_l0"):
        value = getattr(cfg, name)
        ok = value is None or (_finite(value) and value > 0)
        _require(ok, name, value, "None or a finite number > 0")
    share = cfg.init_negative_share
    ok = _finite(share) and 0 <= share <= 1
    _require(ok, "init_negative_share", share, "a finite number in [0, 1]")
    _require(cfg.support in SUPPORTS, "support", cfg.support, f"one of {SUPPORTS}")
    density = cfg.sparse_max_density
    ok = _finite(density) and 0 <= density <= 1
    _require(ok, "sparse_max_density", density, "a finite number in [0, 1]")
    warm = cfg.sparsity_warm_up_steps
    _require(
        isinstance(warm, int) and warm >= 0,
        "sparsity_warm_up_steps",
        warm,
        "an int >= 0",
    )
    for name in ("d_in", "d_sae"):
        value = getattr(cfg, name)
        _require(isinstance(value, int) and value > 0, name, value, "an int > 0")
