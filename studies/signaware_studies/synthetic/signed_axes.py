"""Signed synthetic data on SAELens's synthetic module.

A *signed axis* ``k`` is a unit direction ``v_k`` whose coefficient ``c_k`` is
positive on some tokens and negative on others. SAELens's ``ActivationGenerator``
only draws non-negative feature activations, so each axis is two of its
features, a ``+`` side and a ``-`` side, and ``c_k = a_{k,+} - a_{k,-}``;
``x = sum_k c_k v_k``.

* Directions: SAELens's ``FeatureDictionary`` with its ``orthogonal_initializer``
  (near-orthogonal unit vectors, also when ``K > d``).
* Which sides fire: SAELens's Gaussian copula (``ActivationGenerator`` with a
  ``correlation_matrix``). Side ``s`` of axis ``k`` fires iff ``z_{k,s} >
  Phi^-1(1 - p_{k,s})`` with ``(z_{k,+}, z_{k,-}) ~ N(0, [[1, rho], [rho, 1]])``
  and independent across axes. ``rho`` is the **within-pair correlation**:
  0 = the sides fire independently, -1 = never together (mutually exclusive;
  the copula needs a positive-definite matrix, so -1 is drawn at ``-1 + 1e-4``,
  where co-firing is below 1e-6 per token). The measured co-firing lift
  ``P(both) / (P(+) P(-))`` is reported next to ``rho``.
* Firing rates: axis ``k`` fires with total rate ``p_k`` split as
  ``p_{k,+} = P(+) p_k``, ``p_{k,-} = (1 - P(+)) p_k``; ``P(+)`` is the
  **polarity asymmetry** (0.5 symmetric, 1 = a plain positive feature).
* Magnitudes: SAELens's per-side mean and std (``relu(N(mean, std))``).

When both sides fire, ``c_k`` is their difference (the token sees only the net).
"""

from dataclasses import dataclass

import torch
from sae_lens.synthetic import ActivationGenerator, FeatureDictionary

#: rho = -1 is drawn at this value (the copula needs a positive-definite matrix).
RHO_FLOOR = -1.0 + 1e-4


@dataclass
class SignedAxesConfig:
    n_axes: int = 32
    d: int = 32
    firing_rate: float = 0.125
    p_plus: float | list[float] = 0.5
    rho: float = -1.0
    magnitude_mean: float = 1.0
    magnitude_std: float = 0.3
    seed: int = 0


class SignedAxes:
    """Directions ``V`` (``n_axes x d``) and a sampler of ``(x, c)``."""

    def __init__(self, cfg: SignedAxesConfig, directions: torch.Tensor | None = None):
        self.cfg = cfg
        k = cfg.n_axes
        if directions is None:
            dictionary = FeatureDictionary(k, cfg.d, seed=cfg.seed)
            directions = dictionary.feature_vectors.detach().clone()
        self.directions = directions
        self.generator = self._generator(cfg.p_plus)

    def _generator(self, p_plus: float | list[float]) -> ActivationGenerator:
        cfg, k = self.cfg, self.cfg.n_axes
        p_plus_t = torch.as_tensor(p_plus, dtype=torch.float32).expand(k)
        rates = torch.stack(
            [cfg.firing_rate * p_plus_t, cfg.firing_rate * (1 - p_plus_t)], dim=1
        ).flatten()
        rho = max(cfg.rho, RHO_FLOOR)
        block = torch.tensor([[1.0, rho], [rho, 1.0]])
        correlation = torch.block_diag(*([block] * k)) if rho != 0 else None
        return ActivationGenerator(
            2 * k,
            firing_probabilities=rates,
            mean_firing_magnitudes=cfg.magnitude_mean,
            std_firing_magnitudes=cfg.magnitude_std,
            correlation_matrix=correlation,
        )

    def with_p_plus(self, p_plus: float | list[float]) -> "SignedAxes":
        """The same directions with other polarity asymmetries."""
        other = SignedAxes.__new__(SignedAxes)
        other.cfg = self.cfg
        other.directions = self.directions
        other.generator = self._generator(p_plus)
        return other

    @torch.no_grad()
    def sample(self, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``(x, c)``: ``n x d`` activations and ``n x n_axes`` signed coefficients."""
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            sides = self.generator.sample(n)
        c = sides[:, 0::2] - sides[:, 1::2]
        return c @ self.directions, c

    @torch.no_grad()
    def co_firing_lift(self, n: int = 65_536, seed: int = 12345) -> float | None:
        """Measured ``P(both sides) / (P(+) P(-))`` over all axes (None if undefined)."""
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            sides = self.generator.sample(n) > 0
        plus, minus = sides[:, 0::2].float(), sides[:, 1::2].float()
        expected = (plus.mean(0) * minus.mean(0)).sum().item()
        if expected == 0:
            return None
        return (plus * minus).mean(0).sum().item() / expected
