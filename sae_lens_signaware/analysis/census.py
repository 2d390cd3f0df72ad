"""Census of a signed dictionary: which latents fire, with which sign, carrying how much.

Over ``N`` tokens with signed activations ``f_ti`` and decoder rows ``d_i = W_dec[i]``::

    n_i^+ = #{t : f_ti > 0}                 n_i^- = #{t : f_ti < 0}
    rate_i^+- = n_i^+- / N                  frac_nonzero_i = (n_i^+ + n_i^-) / N
    balance_i = (n_i^+ - n_i^-) / (n_i^+ + n_i^-)          in [-1, 1]; 0 when dead
    bipolarity_i = 1 - |balance_i| = 2 min(n_i^+, n_i^-) / (n_i^+ + n_i^-)
    E_i^+- = sum_{t : +-f_ti > 0} ||f_ti d_i||^2 = ||d_i||^2 sum_{t : +-f_ti > 0} f_ti^2
    energy_share_pos_i = E_i^+ / (E_i^+ + E_i^-)

``E_i`` is the squared length of what latent ``i`` adds to the reconstructions,
summed over tokens, so ``E_i^+- / sum_j E_j`` is the share of the dictionary's
reconstruction energy that latent ``i`` carries with each sign.

A latent is *dead* when it fired on none of the ``N`` tokens
(``n^+ + n^- = 0``), *live* otherwise. It fired *with both signs* when
``n^+ > 0`` and ``n^- > 0`` (one firing of each is enough). It is *bipolar* when
its rarer sign fires at least ``min_count`` times and makes up at least
``min_fraction`` of its firings:
``min(n^+, n^-) >= min_count`` and ``min(n^+, n^-) / (n^+ + n^-) >= min_fraction``.

This is the package's one census: evaluation (``evaluation.evaluate``,
``evaluation.reconstruction_metrics``), comparisons, analysis and dashboards all
report ``Census.summary``, whose keys are defined there.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import torch
from sae_lens.saes.sae import SAE

DEFAULT_MIN_COUNT = 10
DEFAULT_MIN_FRACTION = 0.05


@dataclass
class Census:
    """Per-latent sign statistics (tensors of shape ``(d_sae,)``) over ``n_tokens``."""

    n_tokens: int
    n_pos: torch.Tensor
    n_neg: torch.Tensor
    energy_pos: torch.Tensor
    energy_neg: torch.Tensor
    max_pos: torch.Tensor
    """Largest positive value (0 if it never fired positive)."""
    max_neg: torch.Tensor
    """Largest magnitude of a negative value, as a number >= 0."""
    min_count: int = DEFAULT_MIN_COUNT
    min_fraction: float = DEFAULT_MIN_FRACTION

    @property
    def n_fired(self) -> torch.Tensor:
        return self.n_pos + self.n_neg

    @property
    def rate_pos(self) -> torch.Tensor:
        return self.n_pos.double() / max(self.n_tokens, 1)

    @property
    def rate_neg(self) -> torch.Tensor:
        return self.n_neg.double() / max(self.n_tokens, 1)

    @property
    def frac_nonzero(self) -> torch.Tensor:
        return self.rate_pos + self.rate_neg

    @property
    def alive(self) -> torch.Tensor:
        return self.n_fired > 0

    @property
    def balance(self) -> torch.Tensor:
        return (self.n_pos - self.n_neg).double() / self.n_fired.clamp(min=1).double()

    @property
    def bipolarity(self) -> torch.Tensor:
        return torch.where(self.alive, 1.0 - self.balance.abs(), 0.0)

    @property
    def energy(self) -> torch.Tensor:
        return self.energy_pos + self.energy_neg

    @property
    def energy_share_pos(self) -> torch.Tensor:
        """``E^+ / (E^+ + E^-)`` per latent (0.5 for a dead latent)."""
        return torch.where(
            self.energy > 0, self.energy_pos / self.energy.clamp(min=1e-30), 0.5
        )

    @property
    def bipolar(self) -> torch.Tensor:
        rarer = torch.minimum(self.n_pos, self.n_neg)
        fraction = rarer.double() / self.n_fired.clamp(min=1).double()
        return (rarer >= max(self.min_count, 1)) & (fraction >= self.min_fraction)

    @property
    def rarer_rate(self) -> torch.Tensor:
        """``min(rate^+, rate^-) = frac_nonzero * bipolarity / 2``: activity x bipolarity."""
        return torch.minimum(self.rate_pos, self.rate_neg)

    def ranking(self) -> torch.Tensor:
        """Latent indices: bipolar first, then by ``rarer_rate``, then by ``frac_nonzero``
        (all descending)."""
        order = torch.argsort(self.frac_nonzero, descending=True, stable=True)
        for key in (self.rarer_rate, self.bipolar.double()):
            order = order[torch.argsort(key[order], descending=True, stable=True)]
        return order

    def latent(self, i: int) -> dict[str, float]:
        """The numbers of latent ``i`` as plain floats."""
        total = self.energy.sum().clamp(min=1e-30)
        return {
            "n_pos": int(self.n_pos[i]),
            "n_neg": int(self.n_neg[i]),
            "rate_pos": float(self.rate_pos[i]),
            "rate_neg": float(self.rate_neg[i]),
            "frac_nonzero": float(self.frac_nonzero[i]),
            "balance": float(self.balance[i]),
            "bipolarity": float(self.bipolarity[i]),
            "rarer_rate": float(self.rarer_rate[i]),
            "bipolar": bool(self.bipolar[i]),
            "energy_share_pos": float(self.energy_share_pos[i]),
            "share_of_dictionary_energy": float(self.energy[i] / total),
            "max_pos": float(self.max_pos[i]),
            "max_neg": float(self.max_neg[i]),
        }

    def summary(self) -> dict[str, float]:
        """Dictionary-level numbers (``_fraction``: of all ``d_sae`` latents;
        ``_share_of_live``: of the live ones).

        ``dead_fraction``; ``positive_only_fraction``, ``negative_only_fraction``,
        ``both_signs_fraction`` and ``both_signs_share_of_live`` (fired with both
        signs); ``bipolar_fraction`` and ``bipolar_share_of_live`` (bipolar, the
        strict test above, with its ``bipolar_min_count`` and
        ``bipolar_min_fraction``); ``l0``, ``l0_positive``, ``l0_negative`` (firings
        per token); ``negative_share_of_firing`` and ``negative_share_of_energy``;
        ``mean_bipolarity_of_live`` (``1 - |balance|``, 1 for a balanced latent);
        ``rarer_sign_share_of_both_signs`` (mean of ``min(n^+, n^-) / (n^+ + n^-)``
        over the latents that fired with both signs: 0.5 for balanced ones).
        """
        d_sae = self.n_pos.numel()
        alive = self.alive
        n_alive = max(int(alive.sum()), 1)
        pos, neg = self.n_pos > 0, self.n_neg > 0
        both = pos & neg
        rarer_share = torch.minimum(self.n_pos, self.n_neg).double() / (
            self.n_fired.clamp(min=1).double()
        )
        n = max(self.n_tokens, 1)
        total = float(self.energy.sum())
        return {
            "n_tokens": float(self.n_tokens),
            "d_sae": float(d_sae),
            "dead_fraction": 1.0 - float(alive.sum()) / d_sae,
            "positive_only_fraction": float((pos & ~neg).sum()) / d_sae,
            "negative_only_fraction": float((~pos & neg).sum()) / d_sae,
            "both_signs_fraction": float(both.sum()) / d_sae,
            "both_signs_share_of_live": float(both.sum()) / n_alive,
            "bipolar_fraction": float(self.bipolar.sum()) / d_sae,
            "bipolar_share_of_live": float(self.bipolar.sum()) / n_alive,
            "rarer_sign_share_of_both_signs": float(rarer_share[both].mean())
            if both.any()
            else 0.0,
            "bipolar_min_count": float(self.min_count),
            "bipolar_min_fraction": self.min_fraction,
            "l0": float(self.n_fired.sum()) / n,
            "l0_positive": float(self.n_pos.sum()) / n,
            "l0_negative": float(self.n_neg.sum()) / n,
            "negative_share_of_firing": float(self.n_neg.sum())
            / max(float(self.n_fired.sum()), 1.0),
            "negative_share_of_energy": float(self.energy_neg.sum()) / total
            if total > 0
            else 0.0,
            "mean_bipolarity_of_live": float(self.bipolarity[alive].mean())
            if alive.any()
            else 0.0,
        }


@dataclass
class CensusAccumulator:
    """Streams batches of signed feature activations into a ``Census``."""

    decoder_sq_norms: torch.Tensor
    min_count: int = DEFAULT_MIN_COUNT
    min_fraction: float = DEFAULT_MIN_FRACTION
    _n_tokens: int = field(default=0, init=False)
    _sums: dict[str, torch.Tensor] = field(default_factory=dict, init=False)

    def update(self, feature_acts: torch.Tensor) -> None:
        f = feature_acts.detach().reshape(-1, feature_acts.shape[-1]).double().cpu()
        pos, neg = f > 0, f < 0
        sq = f.pow(2)
        batch = {
            "n_pos": pos.sum(0),
            "n_neg": neg.sum(0),
            "energy_pos": (sq * pos).sum(0),
            "energy_neg": (sq * neg).sum(0),
        }
        for name, value in batch.items():
            self._sums[name] = self._sums.get(name, 0) + value
        for name, value in (("max_pos", f.amax(0)), ("max_neg", (-f).amax(0))):
            value = value.clamp(min=0.0)
            self._sums[name] = torch.maximum(self._sums.get(name, value), value)
        self._n_tokens += f.shape[0]

    def result(self) -> Census:
        d_sae = self.decoder_sq_norms.numel()
        zeros = torch.zeros(d_sae, dtype=torch.float64)
        sums = {k: self._sums.get(k, zeros) for k in ("energy_pos", "energy_neg")}
        norms = self.decoder_sq_norms.detach().double().cpu()
        return Census(
            n_tokens=self._n_tokens,
            n_pos=self._sums.get("n_pos", zeros).long(),
            n_neg=self._sums.get("n_neg", zeros).long(),
            energy_pos=sums["energy_pos"] * norms,
            energy_neg=sums["energy_neg"] * norms,
            max_pos=self._sums.get("max_pos", zeros),
            max_neg=self._sums.get("max_neg", zeros),
            min_count=self.min_count,
            min_fraction=self.min_fraction,
        )


def census_from_feature_acts(
    batches: torch.Tensor | Iterable[torch.Tensor],
    W_dec: torch.Tensor,
    min_count: int = DEFAULT_MIN_COUNT,
    min_fraction: float = DEFAULT_MIN_FRACTION,
) -> Census:
    """The census of signed activations ``(..., d_sae)`` (one tensor or batches)."""
    acc = CensusAccumulator(W_dec.detach().pow(2).sum(-1), min_count, min_fraction)
    for batch in [batches] if isinstance(batches, torch.Tensor) else batches:
        acc.update(batch)
    return acc.result()


@torch.no_grad()
def compute_census(
    sae: SAE[Any],
    acts: torch.Tensor,
    batch_size: int = 8192,
    min_count: int = DEFAULT_MIN_COUNT,
    min_fraction: float = DEFAULT_MIN_FRACTION,
) -> Census:
    """Encode hook activations ``(n_tokens, d_in)`` with ``sae`` and take the census."""
    acts = acts.reshape(-1, acts.shape[-1])
    batches = (
        sae.encode(acts[i : i + batch_size].to(sae.device))
        for i in range(0, acts.shape[0], batch_size)
    )
    return census_from_feature_acts(batches, sae.W_dec, min_count, min_fraction)
