"""Config dataclasses of the Sign-Aware Gated SAE, with validation that names the field.

Each field's docstring (below the field) is its one description. The
documentation's option reference (``docs/hooks.py``) reads it, and
``document_fields`` copies it into the class docstring's ``Args:`` section,
which is what SAELens's training command line shows in ``--help`` (its parser
reads only the class docstring).
"""

import ast
import dataclasses
import inspect
import math
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from sae_lens.saes.sae import SAEConfig, TrainingSAEConfig
from typing_extensions import override

from sae_lens_signaware.saes.step_types import DEFAULT_MAX_DENSITY
from sae_lens_signaware.saes.validation import check_fields

T = TypeVar("T", bound=type)


def field_docstrings(cls: type) -> dict[str, str]:
    """The docstring below each field that ``cls`` itself declares, from its source."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    except (OSError, TypeError):  # no source to read (a frozen install)
        return {}
    body = next(n for n in tree.body if isinstance(n, ast.ClassDef)).body
    docs: dict[str, str] = {}
    for node, after in zip(body, body[1:], strict=False):
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and isinstance(after, ast.Expr)
            and isinstance(after.value, ast.Constant)
            and isinstance(after.value.value, str)
        ):
            docs[node.target.id] = inspect.cleandoc(after.value.value)
    return docs


def document_fields(cls: T) -> T:
    """Append an ``Args:`` section to ``cls``'s docstring with its own fields'
    docstrings, for parsers that read only the class docstring (SAELens's)."""
    lines = [
        f"    {name}: {' '.join(doc.split())}"
        for name, doc in field_docstrings(cls).items()
    ]
    if lines:
        cls.__doc__ = f"{(cls.__doc__ or '').rstrip()}\n\nArgs:\n" + "\n".join(lines)
    return cls


ARCHITECTURE = "sign_aware_gated"
SPARSITY_MODES = ("l1", "l0")
SIGN_ENCODERS = ("shared", "per_sign")
SignEncoders = Literal["shared", "per_sign"]

#: Options at their plain settings: the paper's losses with none of our training
#: aids. With these and ``two_sided=False`` the forward pass and the losses are
#: SAELens's Gated SAE's, and so are the gradients of every parameter Gated has;
#: the threshold still learns (straight-through gradients from the
#: reconstruction) unless ``learn_thresholds=False`` too, which freezes it at 0
#: and makes training follow Gated's step for step (``fused_step=False`` for
#: bit-for-bit; the fused step agrees to float rounding).
PLAIN_SETTINGS: dict[str, Any] = {
    "sparsity": "l1",
    "threshold_init": 0.0,
    "threshold_init_l0": None,
    "ste_to_input": False,
    "unit_norm_encoder": False,
    "reset_dead_thresholds": False,
    "aux_detach_decoder": False,
    "aux_coefficient": 1.0,
    "sign_encoders": "shared",
}


@document_fields
@dataclass
class SignAwareGatedSAEConfig(SAEConfig):
    """Inference config of the SA-GSAE."""

    two_sided: bool = True
    """The gate opens on both sides of the dead zone (the SA-GSAE). False keeps
    only ``pi_gate > theta_pos``: a Gated SAE with a threshold."""
    sign_encoders: SignEncoders = "shared"
    """``"shared"``: one encoder column per latent detects both signs (the
    paper). ``"per_sign"``: the negative side has its own encoder column
    (``W_enc_neg``) and gate and magnitude parameters, the decoder row stays
    shared; both sides may fire on one token."""

    @override
    @classmethod
    def architecture(cls) -> str:
        return ARCHITECTURE

    def __post_init__(self) -> None:
        check_fields(self)  # types of every field (cfg.json gives strings)
        check_sign_encoders(self.sign_encoders, self.two_sided, type(self).__name__)
        super().__post_init__()


@document_fields
@dataclass(kw_only=True)
class SignAwareGatedTrainingSAEConfig(TrainingSAEConfig):
    """Training config of the SA-GSAE.

    The defaults are the scheme chosen by experiment (``docs/architecture.md``,
    ``docs/results.md``); ``PLAIN_SETTINGS`` gives the paper's plain losses.
    """

    two_sided: bool = True
    """Two-sided gate. False: the one-sided ablation, a Gated SAE at
    ``threshold_init=0``."""
    sign_encoders: SignEncoders = "per_sign"
    """``"per_sign"``: the negative side has its own encoder column
    (``W_enc_neg``) and gate and magnitude parameters, initialised so that the
    model starts as the shared one; the decoder row stays shared and both
    sides may fire on one token (two JumpReLU latents with antipodal decoder
    rows). ``"shared"``: one encoder column per latent detects both signs (the
    paper, and ``PLAIN_SETTINGS``). A one-sided gate (``two_sided=False``) has
    one encoder: it is always ``"shared"``."""
    sparsity: Literal["l1", "l0"] = "l0"
    """``"l1"``: the paper's ``sum_i ||W_dec[i]|| |s_i|`` on the soft gate.
    ``"l0"``: ``sum_i (g_pos + g_neg)``, with a straight-through estimator for
    the thresholds (rectangle kernel of width ``bandwidth``)."""
    l1_coefficient: float = 1.0
    """Weight of the ``"l1"`` penalty (used with ``sparsity="l1"``)."""
    l0_coefficient: float = 3.0
    """Weight of the ``"l0"`` penalty (used with ``sparsity="l0"``)."""
    sparsity_warm_up_steps: int = 0
    """Steps of linear warm-up of the sparsity coefficient."""
    aux_coefficient: float = 0.3
    """Weight of the auxiliary soft-gate reconstruction
    ``||x - (s @ W_dec + b_dec)||^2`` (0 removes it). It keeps the gate alive."""
    aux_detach_decoder: bool = False
    """The auxiliary loss sees ``W_dec`` and ``b_dec`` detached, as in the paper.
    False lets it move them, as SAELens's Gated SAE does."""
    tie_thresholds: bool = True
    """One learned threshold per latent for both sides (``theta_pos =
    theta_neg``); False learns the two sides apart (two-sided gates only)."""
    threshold_init: float = 0.5
    """Initial threshold, in units of the (normalised) gate pre-activation,
    when ``threshold_init_l0`` is None; also the value a dead latent's
    thresholds are reset to."""
    threshold_init_l0: float | None = 16.0
    """If set, the first training step sets each latent's thresholds from that
    batch so that the expected L0 is this number (at most ``d_sae``)."""
    bandwidth: float = 1.0
    """Width of the straight-through rectangle kernel, in units of the gate
    pre-activation."""
    ste_to_input: bool = True
    """The straight-through estimator also reaches ``pi_gate`` (so the
    encoder), not only the thresholds: the L0 penalty then pushes gate
    pre-activations into the dead zone (SAELens's ``jumprelu_ste_to_input``)."""
    unit_norm_encoder: bool = True
    """Keep the columns of ``W_enc`` at unit norm during training, so the gate
    pre-activation is a projection of the input."""
    reset_dead_thresholds: bool = True
    """A latent that has not fired for the trainer's ``dead_feature_window``
    steps gets its thresholds reset to ``threshold_init`` (the
    ``threshold_resets`` metric counts them)."""
    target_l0: float | None = None
    """If set, the sparsity coefficient is scaled each step by a log-space
    proportional-integral controller so that the training L0 settles on this
    value (logged as ``sparsity_scale``)."""
    target_l0_gain: float = 0.02
    """The L0 controller's integral gain per step (used with ``target_l0``)."""
    target_l0_proportional: float = 4.0
    """The L0 controller's proportional gain (used with ``target_l0``)."""
    learn_thresholds: bool = True
    """The thresholds get straight-through gradients; False freezes them where
    ``threshold_init`` or ``threshold_init_l0`` put them."""
    fused_step: bool = True
    """Run the training step as one autograd function (one encoder matmul,
    gates computed once, sparse products); False runs the reference ops."""
    sparse_max_density: float = DEFAULT_MAX_DENSITY
    """The fused step uses sparse products when at most this share of the
    ``[batch, d_sae]`` positions can carry a gradient; 0 is always dense
    (used with ``fused_step``)."""

    @override
    @classmethod
    def architecture(cls) -> str:
        return ARCHITECTURE

    def __post_init__(self) -> None:
        validate_training_config(self)
        super().__post_init__()


def check_sign_encoders(value: object, two_sided: bool, owner: str) -> None:
    """``sign_encoders`` is one of ``SIGN_ENCODERS``, and per-sign needs two sides."""
    if value not in SIGN_ENCODERS:
        raise ValueError(
            f"{owner}.sign_encoders must be one of {SIGN_ENCODERS}, got {value!r}."
        )
    if value == "per_sign" and not two_sided:
        raise ValueError(
            f"{owner}.sign_encoders='per_sign' is only used with two_sided=True "
            "(a one-sided gate has no negative side to give an encoder)."
        )


def _fail(field_name: str, value: object, rule: str) -> ValueError:
    return ValueError(
        f"SignAwareGatedTrainingSAEConfig.{field_name} must be {rule}, got {value!r}."
    )


def _finite(value: object) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


#: field -> (the setting under which it is used, as text; that test): a field
#: set away from its default while that setting makes it unused is refused.
USED_ONLY_WITH: dict[
    str, tuple[str, Callable[["SignAwareGatedTrainingSAEConfig"], bool]]
] = {
    "l1_coefficient": ("sparsity='l1'", lambda c: c.sparsity == "l1"),
    "l0_coefficient": ("sparsity='l0'", lambda c: c.sparsity == "l0"),
    "target_l0_gain": ("target_l0 set", lambda c: c.target_l0 is not None),
    "target_l0_proportional": ("target_l0 set", lambda c: c.target_l0 is not None),
    "sparse_max_density": ("fused_step=True", lambda c: c.fused_step),
    "tie_thresholds": ("two_sided=True", lambda c: c.two_sided),
    "aux_detach_decoder": ("aux_coefficient > 0", lambda c: c.aux_coefficient > 0),
}
#: upper bounds past which a run is useless (a coefficient that drowns the
#: reconstruction, a threshold no gate ever crosses, a controller that jumps)
UPPER_BOUNDS: dict[str, float] = {
    "l1_coefficient": 1e4,
    "l0_coefficient": 1e4,
    "aux_coefficient": 1e4,
    "threshold_init": 1e3,
    "target_l0_gain": 1.0,
    "target_l0_proportional": 100.0,
}


def check_combinations(cfg: SignAwareGatedTrainingSAEConfig) -> None:
    """Refuse settings that cannot mean what they say, naming both fields."""
    defaults = {f.name: f.default for f in dataclasses.fields(cfg)}
    for name, (setting, used) in USED_ONLY_WITH.items():
        value = getattr(cfg, name)
        if value != defaults[name] and not used(cfg):
            raise ValueError(
                f"SignAwareGatedTrainingSAEConfig.{name}={value!r} is only used with "
                f"{setting}; set that, or leave {name} at its default "
                f"({defaults[name]!r})."
            )
    if cfg.sparsity == "l0" and not (cfg.learn_thresholds or cfg.ste_to_input):
        raise ValueError(
            "SignAwareGatedTrainingSAEConfig: sparsity='l0' with "
            "learn_thresholds=False and ste_to_input=False gives the L0 penalty no "
            "gradient (it would not sparsify); set either field True or use "
            "sparsity='l1'."
        )
    if cfg.threshold_init_l0 is not None and cfg.threshold_init_l0 > cfg.d_sae:
        raise _fail(
            "threshold_init_l0", cfg.threshold_init_l0, f"at most d_sae={cfg.d_sae}"
        )


def validate_training_config(cfg: SignAwareGatedTrainingSAEConfig) -> None:
    """Raise a ValueError naming the first field of the wrong type or out of
    range, or two fields that contradict each other (bool words such as
    ``"false"`` are parsed in place, see ``saes/validation.py``)."""
    check_fields(cfg)
    # a known value; with no negative side (one-sided) the default per-sign
    # means nothing, so the one encoder is "shared"
    check_sign_encoders(cfg.sign_encoders, True, type(cfg).__name__)
    if not cfg.two_sided:
        cfg.sign_encoders = "shared"
    if cfg.sparsity not in SPARSITY_MODES:
        raise _fail("sparsity", cfg.sparsity, f"one of {SPARSITY_MODES}")
    for name in (
        "l1_coefficient",
        "l0_coefficient",
        "aux_coefficient",
        "threshold_init",
        "target_l0_proportional",
    ):
        value = getattr(cfg, name)
        if not (_finite(value) and value >= 0):
            raise _fail(name, value, "a finite number >= 0")
    for name in ("bandwidth", "target_l0_gain"):
        value = getattr(cfg, name)
        if not (_finite(value) and value > 0):
            raise _fail(name, value, "a finite number > 0")
    for name, bound in UPPER_BOUNDS.items():
        value = getattr(cfg, name)
        if value > bound:
            raise _fail(
                name, value, f"at most {bound:g} (larger makes the run useless)"
            )
    for name in ("target_l0", "threshold_init_l0"):
        value = getattr(cfg, name)
        if not (value is None or (_finite(value) and value > 0)):
            raise _fail(name, value, "None or a finite number > 0")
    density = cfg.sparse_max_density
    if not (_finite(density) and 0 <= density <= 1):
        raise _fail("sparse_max_density", density, "a finite number in [0, 1]")
    warm = cfg.sparsity_warm_up_steps
    if not (isinstance(warm, int) and warm >= 0):
        raise _fail("sparsity_warm_up_steps", warm, "an int >= 0")
    check_combinations(cfg)
