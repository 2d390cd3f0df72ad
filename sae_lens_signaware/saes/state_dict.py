"""The SA-GSAE's one state-dict format, its checks, and the upgrade of older files.

Every saved SA-GSAE (inference or training) holds ``W_enc``, ``W_dec``,
``b_dec``, ``b_gate``, ``b_mag``, ``r_mag``, ``threshold_pos`` and
``threshold_neg`` (equal when trained with tied thresholds); with
``sign_encoders="per_sign"`` the negative side's ``W_enc_neg``, ``b_gate_neg``,
``b_mag_neg`` and ``r_mag_neg`` too; a training checkpoint adds the L0
controller's state ``l0_controller``. Files written by
earlier versions, whose tied training checkpoints held one ``threshold``, are
upgraded on load (``upgrade_state_dict``).

What ``SAE.load_from_disk`` (SAELens's entry point) can and cannot see:
SAELens's reader (``read_sae_components_from_disk``) casts every stored tensor
to the config's dtype before ``process_state_dict_for_loading`` calls
``validate_state_dict``, so the stored dtype is lost. It still sees missing,
unexpected and misshapen tensors, NaN and inf, an all-zero ``W_enc`` or
``W_dec`` (what weights below 1 truncated to integers become) and negative
thresholds; it cannot see an integer or bool tensor of other values (an int
``W_enc`` of 0/1/-1 loads as those floats), nor a float64 tensor rounded by
the cast. ``sae_lens_signaware.loading.load_sae`` reads the file's own dtypes
first and refuses both, naming the file and the key; while it loads,
``reading(path)`` makes the errors and warnings here name the file.
"""

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import torch
from sae_lens.saes.sae import SAEConfig

from sae_lens_signaware.errors import NonFiniteSaveError, StateDictError

GATE_VECTORS = ("b_gate", "b_mag", "r_mag")
NEGATIVE_SIDE = ("W_enc_neg", "b_gate_neg", "b_mag_neg", "r_mag_neg")
THRESHOLDS = ("threshold_pos", "threshold_neg")
CONTROLLER = "l0_controller"


#: the file being loaded, named by ``validate_state_dict`` when not given one
_SOURCE: ContextVar[str | None] = ContextVar("state_dict_source", default=None)


@contextmanager
def reading(source: str) -> Iterator[None]:
    """Within: errors and warnings of ``validate_state_dict`` name ``source``."""
    token = _SOURCE.set(source)
    try:
        yield
    finally:
        _SOURCE.reset(token)


class NegativeThresholdWarning(UserWarning):
    """A loaded threshold is below 0 (training clamps thresholds at 0): a
    warning, not an error, because the SAE still computes a defined function.

    With a shared encoder both gates of latent i are open for
    ``theta_pos < pi_gate < -theta_neg``, which happens only when
    ``theta_pos + theta_neg < 0``; there ``f = relu(pi_mag) - relu(-pi_mag) =
    pi_mag`` (at most one of the two terms is nonzero), so the latent is linear
    in that band instead of having a dead zone. With per-sign encoders the two
    sides are independent detectors and a negative threshold only lets a side
    fire on a slightly negative pre-activation. Either way inference is well
    defined; the sparsity the SAE was trained for is not."""


def upgrade_state_dict(state_dict: dict[str, Any]) -> None:
    """In place: an older file's tied ``threshold`` becomes ``threshold_pos`` and
    ``threshold_neg``."""
    if "threshold" in state_dict and not any(k in state_dict for k in THRESHOLDS):
        threshold = state_dict.pop("threshold")
        state_dict["threshold_pos"] = threshold
        state_dict["threshold_neg"] = threshold.clone()


def expected_shapes(
    cfg: SAEConfig, training: bool = False
) -> dict[str, tuple[int, ...]]:
    """Name -> shape of every tensor of an SA-GSAE with this config."""
    d_in, d_sae = cfg.d_in, cfg.d_sae
    shapes: dict[str, tuple[int, ...]] = {
        "W_enc": (d_in, d_sae),
        "W_dec": (d_sae, d_in),
        "b_dec": (d_in,),
        **{name: (d_sae,) for name in (*GATE_VECTORS, *THRESHOLDS)},
    }
    if getattr(cfg, "sign_encoders", "shared") == "per_sign":
        shapes["W_enc_neg"] = (d_in, d_sae)
        shapes.update({f"{name}_neg": (d_sae,) for name in GATE_VECTORS})
    if training:
        shapes[CONTROLLER] = (2,)
    return shapes


def _tensor_problem(
    name: str, tensor: object, shape: tuple[int, ...], cfg: SAEConfig
) -> str | None:
    if not isinstance(tensor, torch.Tensor):
        return f"{name!r} is not a tensor"
    if not tensor.is_floating_point():
        return f"{name!r} has dtype {tensor.dtype}, not a floating-point dtype"
    if tuple(tensor.shape) != shape:
        return (
            f"{name!r} has shape {tuple(tensor.shape)}, expected {shape} "
            f"(d_in={cfg.d_in}, d_sae={cfg.d_sae})"
        )
    if tensor.device.type != "meta" and not bool(torch.isfinite(tensor).all()):
        bad = int((~torch.isfinite(tensor)).sum())
        return f"{name!r} has {bad} non-finite values (NaN or inf)"
    if (
        name in ("W_enc", "W_dec")
        and tensor.device.type != "meta"
        and tensor.numel()
        and not bool(tensor.any())
    ):
        return f"{name!r} is all zeros (an integer tensor cast to float?)"
    return None


def validate_state_dict(
    state_dict: dict[str, Any],
    cfg: SAEConfig,
    training: bool = False,
    source: str | None = None,
) -> None:
    """Raise ``StateDictError`` naming every missing, unexpected, non-float,
    misshapen, non-finite or all-zero tensor; warn (``NegativeThresholdWarning``)
    about thresholds below 0. ``source`` (else the file of ``reading``) is
    named in both; meta tensors get the key and shape checks only."""
    source = source if source is not None else _SOURCE.get()
    expected = expected_shapes(cfg, training)
    problems = [
        f"missing tensor {name!r}" for name in expected if name not in state_dict
    ]
    for name, tensor in state_dict.items():
        if name not in expected:
            problems.append(f"unexpected tensor {name!r}")
            continue
        problem = _tensor_problem(name, tensor, expected[name], cfg)
        if problem is not None:
            problems.append(problem)
    negative_side = {name for name in expected if name.endswith("_neg")} - set(
        THRESHOLDS
    )
    if negative_side and not negative_side & state_dict.keys():
        problems.append(
            "these tensors hold a shared-encoder SA-GSAE: load them with "
            "sign_encoders='shared' (the training config's default is 'per_sign')"
        )
    if problems:
        raise StateDictError(problems, source)
    pos, neg = (state_dict[name] for name in THRESHOLDS)
    if pos.device.type == "meta" or neg.device.type == "meta":
        return
    if getattr(cfg, "sign_encoders", "shared") == "per_sign":
        effect = "those sides fire on negative pre-activations"
    elif not getattr(cfg, "two_sided", True):
        effect = "those gates open on negative pre-activations"
    else:
        both_open = int((pos + neg < 0).sum())
        effect = (
            f"{both_open} latents have threshold_pos + threshold_neg < 0, where "
            "both gates open at once and the latent is linear (no dead zone)"
        )
    for name, threshold in zip(THRESHOLDS, (pos, neg), strict=True):
        if bool((threshold < 0).any()):
            warnings.warn(
                f"{name} has {int((threshold < 0).sum())} negative values"
                + (f" in {source}" if source else "")
                + f": {effect} (training keeps thresholds >= 0)",
                NegativeThresholdWarning,
                stacklevel=3,
            )


def check_finite_for_saving(state_dict: dict[str, Any]) -> None:
    """Raise ``NonFiniteSaveError`` naming every tensor with NaN or inf."""
    bad = [
        f"{name!r} ({int((~torch.isfinite(t)).sum())} of {t.numel()} values)"
        for name, t in state_dict.items()
        if isinstance(t, torch.Tensor)
        and t.is_floating_point()
        and not bool(torch.isfinite(t).all())
    ]
    if bad:
        raise NonFiniteSaveError(bad)
