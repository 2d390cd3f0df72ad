"""State-dict checks and conversions for the Sign-Aware Gated SAE."""

from dataclasses import dataclass
from typing import Any

import torch
from sae_lens.saes.sae import SAEConfig

GATE_VECTORS = ("b_gate", "b_mag", "r_mag")


@dataclass
class StateDictError(ValueError):
    """A checkpoint whose tensors do not fit the config."""

    problems: list[str]

    def __str__(self) -> str:
        return (
            "Sign-aware gated SAE state dict does not match its config: "
            + "; ".join(self.problems)
        )


def split_tied_threshold(state_dict: dict[str, Any]) -> None:
    """Turn a tied ``threshold`` into ``threshold_pos`` and ``threshold_neg``."""
    if "threshold" in state_dict:
        threshold = state_dict.pop("threshold")
        state_dict["threshold_pos"] = threshold
        state_dict["threshold_neg"] = threshold.clone()


def expected_shapes(
    cfg: SAEConfig, tied: bool, training: bool = False
) -> dict[str, tuple[int, ...]]:
    d_in, d_sae = cfg.d_in, cfg.d_sae
    shapes: dict[str, tuple[int, ...]] = {
        "W_enc": (d_in, d_sae),
        "W_dec": (d_sae, d_in),
        "b_dec": (d_in,),
        **{name: (d_sae,) for name in GATE_VECTORS},
    }
    if tied:
        shapes["threshold"] = (d_sae,)
    else:
        shapes["threshold_pos"] = (d_sae,)
        shapes["threshold_neg"] = (d_sae,)
    if training:
        shapes["l0_controller"] = (2,)
    return shapes


def validate_state_dict(
    state_dict: dict[str, Any], cfg: SAEConfig, tied: bool, training: bool = False
) -> None:
    """Raise ``StateDictError`` naming every missing, misshapen or unexpected tensor."""
    expected = expected_shapes(cfg, tied, training)
    problems = [
        f"missing tensor {name!r}" for name in expected if name not in state_dict
    ]
    for name, tensor in state_dict.items():
        if name not in expected:
            problems.append(f"unexpected tensor {name!r}")
        elif not isinstance(tensor, torch.Tensor):
            problems.append(f"{name!r} is not a tensor")
        elif tuple(tensor.shape) != expected[name]:
            problems.append(
                f"{name!r} has shape {tuple(tensor.shape)}, expected {expected[name]} "
                f"(d_in={cfg.d_in}, d_sae={cfg.d_sae})"
            )
        elif not torch.isfinite(tensor).all():
            problems.append(f"{name!r} has non-finite values")
    if problems:
        raise StateDictError(problems)
