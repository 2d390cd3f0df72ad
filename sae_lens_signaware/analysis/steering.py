"""Steer with one signed latent: set it to ``+a`` or ``-a`` and watch the next token.

At the hook the SAE is spliced in with its error term, and latent ``i`` is set to
``v`` on every steered token. Since ``decode`` is affine, that is exactly::

    x' = x + decode(f with f_i <- v) - decode(f) = x + (v - f_i(x)) W_dec[i]

(times the SAE's output de-normalisation, if any), so with no intervention the
model is unchanged. For ``v = +a`` and ``v = -a`` we report, over the measured
positions (all but BOS), the mean ``KL(p_clean || p_steered)`` of the next-token
distribution and the mean change in log-probability of the ``k`` tokens the
``+`` direction promotes and suppresses most (``latent_report.direction_logits``).
A signed latent is a two-way dial when ``+a`` raises the promoted tokens and
lowers the suppressed ones, and ``-a`` does the opposite.
"""

from typing import Any

import torch
from sae_lens.saes.sae import SAE
from transformer_lens import HookedTransformer

from sae_lens_signaware.activations import bos_token_id
from sae_lens_signaware.analysis.latent_report import direction_logits, vocab_strings


def _kl(base_logp: torch.Tensor, logp: torch.Tensor) -> torch.Tensor:
    return (base_logp.exp() * (base_logp - logp)).sum(-1)


@torch.no_grad()
def steer_latent(
    model: HookedTransformer,
    sae: SAE[Any],
    tokens: torch.Tensor,
    latent: int,
    value: float,
    hook_name: str,
    k: int = 5,
    skip_bos: bool = True,
) -> dict[str, Any]:
    """Set ``latent`` to ``+value`` and to ``-value`` on ``tokens`` ``(batch, ctx)``;
    return KL and log-prob shifts for each, and whether they move in opposite ways."""
    value = abs(float(value))
    vocab = vocab_strings(model)
    dir_logits = direction_logits(model, sae.W_dec[latent])
    promoted = torch.topk(dir_logits, k).indices
    suppressed = torch.topk(-dir_logits, k).indices
    steer = torch.ones_like(tokens, dtype=torch.bool)
    bos = bos_token_id(model)
    if skip_bos and bos is not None:
        steer = tokens.ne(bos)
    base = model(tokens).float().log_softmax(-1)

    def run(v: float) -> dict[str, Any]:
        def hook(x: torch.Tensor, hook: Any) -> torch.Tensor:  # noqa: ARG001
            f = sae.encode(x)
            f_new = f.clone()
            f_new[..., latent] = torch.where(steer, v, f[..., latent])
            return x + (sae.decode(f_new) - sae.decode(f)).to(x.dtype)

        logp = model.run_with_hooks(tokens, fwd_hooks=[(hook_name, hook)])
        logp = logp.float().log_softmax(-1)
        shift = (logp - base)[steer]
        mean_shift = shift.mean(0)
        raised = torch.topk(mean_shift, k).indices.tolist()
        lowered = torch.topk(-mean_shift, k).indices.tolist()
        return {
            "value": v,
            "kl": float(_kl(base, logp)[steer].mean()),
            "delta_logprob_promoted": float(shift[:, promoted].mean()),
            "delta_logprob_suppressed": float(shift[:, suppressed].mean()),
            "most_raised": [(vocab[i], float(mean_shift[i])) for i in raised],
            "most_lowered": [(vocab[i], float(mean_shift[i])) for i in lowered],
        }

    plus, minus = run(value), run(-value)
    two_way = (
        plus["delta_logprob_promoted"] > 0 > minus["delta_logprob_promoted"]
        and plus["delta_logprob_suppressed"] < 0 < minus["delta_logprob_suppressed"]
    )
    return {
        "latent": int(latent),
        "value": value,
        "hook_name": hook_name,
        "n_positions": int(steer.sum()),
        "promoted_tokens": [vocab[i] for i in promoted.tolist()],
        "suppressed_tokens": [vocab[i] for i in suppressed.tolist()],
        "plus": plus,
        "minus": minus,
        "two_way": two_way,
    }
