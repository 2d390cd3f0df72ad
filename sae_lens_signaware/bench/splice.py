"""CE loss recovered when an SAE's reconstruction replaces a hook's activations."""

from typing import Any

import torch
from sae_lens.saes.sae import SAE
from transformer_lens import HookedTransformer


@torch.no_grad()
def ce_loss_recovered(
    model: HookedTransformer,
    sae: SAE[Any],
    tokens: torch.Tensor,
    hook_name: str,
    batch_size: int = 32,
) -> dict[str, float]:
    """``(CE_zero - CE_sae) / (CE_zero - CE_clean)``, with the three losses."""
    sae.eval()
    totals = {"clean": 0.0, "sae": 0.0, "zero": 0.0}

    def splice(acts: torch.Tensor, hook: Any) -> torch.Tensor:  # noqa: ARG001
        return sae(acts).to(acts.dtype)

    def zero(acts: torch.Tensor, hook: Any) -> torch.Tensor:  # noqa: ARG001
        return torch.zeros_like(acts)

    for start in range(0, tokens.shape[0], batch_size):
        batch = tokens[start : start + batch_size]
        weight = batch.shape[0]
        totals["clean"] += weight * model(batch, return_type="loss").item()
        for key, fn in (("sae", splice), ("zero", zero)):
            loss = model.run_with_hooks(
                batch, return_type="loss", fwd_hooks=[(hook_name, fn)]
            )
            totals[key] += weight * loss.item()
    n = tokens.shape[0]
    clean, spliced, zeroed = (totals[k] / n for k in ("clean", "sae", "zero"))
    return {
        "ce_loss_clean": clean,
        "ce_loss_with_sae": spliced,
        "ce_loss_zero_ablation": zeroed,
        "ce_loss_recovered": (zeroed - spliced) / (zeroed - clean),
    }
