"""Checks that run before training, so a bad config fails fast and writes nothing.

SAELens only notices an SAE ``d_in`` that does not fit the hook deep inside the
activation store (a broadcasting error while the first batch is copied), so we
probe the hook once with a few tokens and compare.
"""

from collections.abc import Mapping
from typing import Any

import torch
from sae_lens.util import extract_stop_at_layer_from_tlens_hook_name
from transformer_lens.hook_points import HookedRootModule


class HookShapeError(ValueError):
    """The SAE's ``d_in`` does not match the activations at its hook (or the hook is missing)."""


@torch.no_grad()
def hook_width(
    model: HookedRootModule,
    hook_name: str,
    hook_head_index: int | None = None,
    model_kwargs: Mapping[str, Any] | None = None,
) -> int:
    """Width of one token's activation at ``hook_name``, as SAELens's store flattens it."""
    if hook_name not in model.hook_dict:
        known = ", ".join(sorted(model.hook_dict)[:8])
        raise HookShapeError(
            f"hook_name {hook_name!r} is not a hook of the model (some hooks: {known}, ...)"
        )
    tokenizer = getattr(model, "tokenizer", None)
    token = getattr(tokenizer, "bos_token_id", None) or 0
    tokens = torch.full((1, 4), token, dtype=torch.long)
    device = _input_device(model)
    _, cache = model.run_with_cache(
        tokens.to(device),
        names_filter=[hook_name],
        stop_at_layer=extract_stop_at_layer_from_tlens_hook_name(hook_name),
        prepend_bos=False,
        **(model_kwargs or {}),
    )
    acts = cache[hook_name]
    if hook_head_index is not None:
        acts = acts[:, :, hook_head_index]
    return int(acts[0, 0].numel())


def check_d_in(
    model: HookedRootModule,
    hook_name: str,
    d_in: int,
    hook_head_index: int | None = None,
    model_kwargs: Mapping[str, Any] | None = None,
) -> None:
    """Raise ``HookShapeError`` naming ``d_in`` if it differs from the hook's width."""
    width = hook_width(model, hook_name, hook_head_index, model_kwargs)
    if width != d_in:
        raise HookShapeError(
            f"SAE d_in={d_in} does not match the activations at hook {hook_name!r}, "
            f"which have width {width}: set d_in={width} (or pick another hook)."
        )


def _input_device(model: HookedRootModule) -> torch.device:
    if hasattr(model, "W_E"):
        return model.W_E.device
    return next(model.parameters()).device
