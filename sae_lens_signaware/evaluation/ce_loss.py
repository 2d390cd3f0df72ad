"""CE loss score (CE loss recovered) when an SAE's reconstruction replaces a hook's activations."""

from typing import Any

import torch
from sae_lens.saes.sae import SAE
from transformer_lens import HookedTransformer


@torch.no_grad()
def ce_loss_score(
    model: HookedTransformer,
    sae: SAE[Any],
    tokens: torch.Tensor,
    hook_name: str,
    batch_size: int = 32,
) -> dict[str, float]:
    """``ce_loss_score = (CE_with_ablation - CE_with_sae) / (CE_with_ablation -
    CE_without_sae)`` over ``tokens`` (windows), with the three losses, named as
    ``run_evals`` names them (ablation: the hook's activations set to zero)."""
    sae.eval()
    totals = {"without": 0.0, "sae": 0.0, "ablation": 0.0}

    def splice(acts: torch.Tensor, hook: Any) -> torch.Tensor:  # noqa: ARG001
        return sae(acts).to(acts.dtype)

    def zero(acts: torch.Tensor, hook: Any) -> torch.Tensor:  # noqa: ARG001
        return torch.zeros_like(acts)

    for start in range(0, tokens.shape[0], batch_size):
        batch = tokens[start : start + batch_size]
        weight = batch.shape[0]
        totals["without"] += weight * model(batch, return_type="loss").item()
        for key, fn in (("sae", splice), ("ablation", zero)):
            loss = model.run_with_hooks(
                batch, return_type="loss", fwd_hooks=[(hook_name, fn)]
            )
            totals[key] += weight * loss.item()
    n = tokens.shape[0]
    without, with_sae, ablation = (
        totals[k] / n for k in ("without", "sae", "ablation")
    )
    return {
        "ce_loss_without_sae": without,
        "ce_loss_with_sae": with_sae,
        "ce_loss_with_ablation": ablation,
        "ce_loss_score": (ablation - with_sae) / (ablation - without),
    }
