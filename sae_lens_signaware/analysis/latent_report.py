"""What one signed latent responds to and what it writes, for each sign.

* Top contexts: the token windows where ``s f_i`` (``s = +-1``) peaks, with the
  latent's signed value on every token of the snippet.
* A histogram of its nonzero values over bins shared by both signs, symmetric about
  0 (an edge sits at 0), so the Bi-Jump-ReLU's dead zone ``[-theta_neg, theta_pos]``
  shows as a gap between two humps.
* Direct logit effect of its direction: ``l_i = (W_dec[i] * w_final) @ W_U`` (the
  final norm's weight ``w_final`` folded in, centred first for a LayerNorm). A
  positive value ``f_i > 0`` adds ``f_i l_i`` to the logits, so it promotes
  ``argmax l_i`` and suppresses ``argmin l_i``; a negative value adds
  ``-|f_i| l_i``, which swaps the two lists. Both directions are reported.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from sae_lens.saes.sae import SAE
from transformer_lens import HookedTransformer

from sae_lens_signaware.activations import bos_token_id, collect_activations

SIGNS = ("pos", "neg")


@dataclass
class LogitTable:
    token_ids: list[int]
    tokens: list[str]
    values: list[float]


@dataclass
class SignedHistogram:
    """Counts of nonzero values in ``len(counts)`` equal bins on ``[-M, M]``."""

    edges: list[float]
    counts: list[int]

    @property
    def centers(self) -> list[float]:
        return [
            (a + b) / 2 for a, b in zip(self.edges[:-1], self.edges[1:], strict=True)
        ]


@dataclass
class Context:
    """A snippet of window ``window`` around ``position``, where the latent has ``value``."""

    window: int
    position: int
    offset: int
    """Index of ``position`` inside the snippet."""
    tokens: list[str]
    values: list[float]
    value: float


@dataclass
class LatentReport:
    latent: int
    contexts: dict[str, list[Context]]
    histogram: SignedHistogram
    logits: dict[str, dict[str, LogitTable]]
    """``logits[sign]["promoted" | "suppressed"]`` for the +/- direction."""
    logit_histogram: SignedHistogram
    max_abs: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


def vocab_strings(model: HookedTransformer) -> list[str]:
    """Each token id decoded on its own."""
    assert model.tokenizer is not None
    return [str(model.tokenizer.decode([i])) for i in range(model.cfg.d_vocab)]


def direction_logits(
    model: HookedTransformer, directions: torch.Tensor, through_final_norm: bool = True
) -> torch.Tensor:
    """``(..., d_vocab)`` direct logit effect of residual ``directions`` ``(..., d_model)``."""
    d = directions.to(model.W_U.dtype)
    if through_final_norm:
        if model.cfg.normalization_type in ("LN", "LNPre"):
            d = d - d.mean(-1, keepdim=True)
        weight = getattr(model.ln_final, "w", None)
        if isinstance(weight, torch.Tensor):
            d = d * weight
    return (d @ model.W_U).detach()


def logit_tables(
    logits: torch.Tensor, vocab: Sequence[str], k: int = 10
) -> dict[str, dict[str, LogitTable]]:
    """Top-``k`` promoted and suppressed tokens of ``+logits`` and of ``-logits``."""

    def table(values: torch.Tensor) -> LogitTable:
        top = torch.topk(values, min(k, values.numel()))
        ids = top.indices.tolist()
        return LogitTable(ids, [vocab[int(i)] for i in ids], top.values.tolist())

    out: dict[str, dict[str, LogitTable]] = {}
    for sign, signed in (("pos", logits), ("neg", -logits)):
        suppressed = table(-signed)
        suppressed.values = [-v for v in suppressed.values]
        out[sign] = {"promoted": table(signed), "suppressed": suppressed}
    return out


def signed_histogram(values: torch.Tensor, n_bins: int = 40) -> SignedHistogram:
    """Histogram of the nonzero entries of ``values`` on ``n_bins`` (made even) equal
    bins over ``[-M, M]``, ``M = max |value|``, with an edge at 0: negative values
    fall in ``[e_j, e_j+1)``, positive ones in ``(e_j, e_j+1]``, so no bin mixes signs."""
    n_bins += n_bins % 2
    v = values[values != 0].double().cpu().flatten()
    bound = float(v.abs().max()) if v.numel() else 1.0
    edges = torch.linspace(-bound, bound, n_bins + 1, dtype=torch.float64)
    edges[n_bins // 2] = 0.0
    idx = torch.where(
        v < 0,
        torch.bucketize(v, edges, right=True) - 1,
        torch.bucketize(v, edges, right=False) - 1,
    ).clamp(0, n_bins - 1)
    counts = torch.bincount(idx, minlength=n_bins)
    return SignedHistogram(edges.tolist(), [int(c) for c in counts.tolist()])


def top_contexts(
    values: torch.Tensor,
    tokens: torch.Tensor,
    vocab: Sequence[str],
    sign: str,
    k: int = 8,
    before: int = 12,
    after: int = 4,
    qualifies: torch.Tensor | None = None,
) -> list[Context]:
    """The ``k`` windows whose peak of ``s * values`` (``s`` from ``sign``) is largest,
    one snippet per window around its peak; ``values``, ``tokens``: ``(n_windows, ctx)``.
    Positions where ``qualifies`` is False (e.g. BOS) are never a peak."""
    s = 1.0 if sign == "pos" else -1.0
    scores = values * s
    if qualifies is not None:
        scores = torch.where(qualifies, scores, torch.zeros_like(scores))
    peak, where = scores.max(dim=1)
    order = torch.argsort(peak, descending=True)
    contexts = []
    for w in order[:k].tolist():
        if peak[w] <= 0:
            break
        pos = int(where[w])
        lo, hi = max(pos - before, 0), min(pos + after + 1, values.shape[1])
        contexts.append(
            Context(
                window=w,
                position=pos,
                offset=pos - lo,
                tokens=[vocab[int(t)] for t in tokens[w, lo:hi].tolist()],
                values=values[w, lo:hi].tolist(),
                value=float(values[w, pos]),
            )
        )
    return contexts


@torch.no_grad()
def feature_values(
    sae: SAE[Any], acts: torch.Tensor, latents: Sequence[int], batch_size: int = 8192
) -> torch.Tensor:
    """``(n_tokens, len(latents))`` signed values of ``latents`` on flat ``acts``."""
    idx = list(latents)
    return torch.cat(
        [
            sae.encode(acts[i : i + batch_size].to(sae.device))[:, idx].cpu()
            for i in range(0, acts.shape[0], batch_size)
        ]
    )


@torch.no_grad()
def latent_reports(
    sae: SAE[Any],
    model: HookedTransformer,
    tokens: torch.Tensor,
    latents: Sequence[int],
    hook_name: str,
    acts: torch.Tensor | None = None,
    n_contexts: int = 8,
    n_logits: int = 10,
    n_bins: int = 40,
    skip_bos: bool = True,
) -> list[LatentReport]:
    """Reports of ``latents`` over token windows ``(n_windows, ctx)``; ``acts`` are the
    flat hook activations of those windows if already computed."""
    if acts is None:
        acts = collect_activations(model, tokens, hook_name)
    values = feature_values(sae, acts, latents).view(*tokens.shape, len(latents))
    vocab = vocab_strings(model)
    qualifies = torch.ones_like(tokens, dtype=torch.bool)
    bos = bos_token_id(model)
    if skip_bos and bos is not None:
        qualifies = tokens.ne(bos)
    logits = direction_logits(model, sae.W_dec[list(latents)])
    reports = []
    for k, latent in enumerate(latents):
        v = values[..., k]
        kept = v[qualifies]
        reports.append(
            LatentReport(
                latent=int(latent),
                contexts={
                    sign: top_contexts(
                        v, tokens, vocab, sign, n_contexts, qualifies=qualifies
                    )
                    for sign in SIGNS
                },
                histogram=signed_histogram(kept, n_bins),
                logits=logit_tables(logits[k], vocab, n_logits),
                logit_histogram=signed_histogram(logits[k], n_bins),
                max_abs=float(kept.abs().max()) if kept.numel() else 0.0,
            )
        )
    return reports
