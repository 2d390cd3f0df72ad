"""Finite or stop: the checks ``Trainer`` runs on each batch, loss and parameter.

- ``FiniteBatches`` wraps the trainer's data provider: running out of data is a
  ``DataExhaustedError`` naming the step (not a bare ``StopIteration``); a
  batch with a NaN or inf is an error (``NonFiniteTrainingError``, cause ``"non-finite input
  batch"``) or, with ``skip_non_finite_batches``, is dropped and counted.
- ``FiniteGuard.check`` runs after each step: every loss term and, through
  one norm per parameter, every parameter must be finite. The error names the
  step, the loss term and the cause: a non-finite input, a parameter that was
  already huge before the step ("exploding parameter"), or a step that blew up
  from finite parameters (with the coefficients, which name a runaway one).

A failed check raises before the trainer checkpoints the step, so nothing
non-finite is written and the last good checkpoint stays the newest.
"""

import math
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import torch
from sae_lens.saes.sae import TrainingSAE, TrainStepOutput

from sae_lens_signaware.distributed import any_rank
from sae_lens_signaware.errors import NonFiniteTrainingError

__all__ = [
    "DataExhaustedError",
    "FiniteBatches",
    "FiniteGuard",
    "NonFiniteTrainingError",
    "check_finite_sae",
]

#: a parameter whose norm grew by more than this factor since the start (from
#: at least 1) is "exploding" when the loss turns non-finite
EXPLODING_GROWTH = 1e3
#: a coefficient above this is "runaway"
RUNAWAY_COEFFICIENT = 1e8


class DataExhaustedError(ValueError):
    """The data provider ran out of batches before training was done."""


class FiniteBatches(Iterator[torch.Tensor]):
    """The data provider's batches, each checked for NaN and inf.

    Args:
        batches: the trainer's data provider.
        step: the trainer's current step (for messages).
        skip: drop non-finite batches (counted in ``skipped``) instead of raising.
        max_skipped: raise anyway after this many skipped batches in a row
            (a stream of nothing but bad batches would loop forever).
    """

    def __init__(
        self,
        batches: Iterator[torch.Tensor],
        step: Callable[[], int],
        skip: bool = False,
        max_skipped: int = 100,
    ) -> None:
        self.batches = batches
        self.step = step
        self.skip = skip
        self.max_skipped = max_skipped
        self.skipped = 0

    def __iter__(self) -> "FiniteBatches":
        return self

    def __next__(self) -> torch.Tensor:
        in_a_row = 0
        while True:
            try:
                batch = next(self.batches)
            except StopIteration:
                raise DataExhaustedError(
                    f"the training data ran out at step {self.step()}: the dataset "
                    "is empty or shorter than training_tokens"
                ) from None
            bad = batch.numel() - int(torch.isfinite(batch).sum())
            # data-parallel: every rank keeps, skips or stops on the same step
            if not any_rank(bad > 0):
                return batch
            cause = f"non-finite input batch: {bad} of {batch.numel()} values are NaN or inf"
            if bad == 0:
                cause = "non-finite input batch on another rank"
            in_a_row += 1
            if not self.skip or in_a_row > self.max_skipped:
                if self.skip:
                    cause += f"; {in_a_row} such batches in a row"
                raise NonFiniteTrainingError(self.step(), "input batch", cause)
            self.skipped += 1

    def close(self) -> None:
        close = getattr(self.batches, "close", None)
        if callable(close):
            close()


def parameter_norms(sae: TrainingSAE[Any]) -> dict[str, float]:
    """One float32 norm per parameter (inf or NaN if any entry is)."""
    with torch.no_grad():
        names = [name for name, _ in sae.named_parameters()]
        norms = torch.stack([p.detach().float().norm() for p in sae.parameters()])
    return dict(zip(names, norms.tolist(), strict=True))


def check_finite_sae(sae: TrainingSAE[Any], when: str = "end") -> None:
    """Raise ``NonFiniteTrainingError`` naming the first non-finite parameter."""
    bad = _first_bad(parameter_norms(sae))
    if bad is not None:
        raise NonFiniteTrainingError(when, f"parameter {bad!r}", "refusing to save it")


def _first_bad(values: Mapping[str, float]) -> str | None:
    return next((k for k, v in values.items() if not math.isfinite(v)), None)


class FiniteGuard:
    """Checks each step's losses and parameters; raises ``NonFiniteTrainingError``
    with the most likely cause."""

    def __init__(self, sae: TrainingSAE[Any]) -> None:
        self.sae = sae
        self.norms = parameter_norms(sae)
        self.initial = dict(self.norms)

    def check(
        self, output: TrainStepOutput, step: int, coefficients: Mapping[str, float]
    ) -> None:
        """Raise if a loss term or a parameter of ``step`` is not finite."""
        after = parameter_norms(self.sae)
        losses = {"loss": float(output.loss.detach())}
        losses.update(
            {name: float(value.detach()) for name, value in output.losses.items()}
        )
        term = _first_bad({k: v for k, v in losses.items() if k != "loss"})
        term = term or _first_bad(losses)
        param = _first_bad(after)
        if term is None and param is None:
            self.norms = after
            return
        label = f"loss term {term!r}" if term is not None else f"parameter {param!r}"
        raise self.explain(step, label, output.sae_in, coefficients, param)

    def explain(
        self,
        step: int,
        label: str,
        sae_in: torch.Tensor,
        coefficients: Mapping[str, float],
        param: str | None = None,
    ) -> NonFiniteTrainingError:
        """The error for a non-finite ``label`` at ``step``, with its likely cause:
        a parameter already non-finite, one that exploded (grew by more than
        ``EXPLODING_GROWTH``), a runaway coefficient, a huge input, or a step
        that blew up from finite parameters."""
        before = self.norms
        growth = {k: v / max(self.initial[k], 1.0) for k, v in before.items()}
        big = max(growth, key=lambda name: growth[name])
        bad_coef = {
            k: v for k, v in coefficients.items() if not v < RUNAWAY_COEFFICIENT
        }
        x_max = float(sae_in.detach().abs().max())
        if _first_bad(before) is not None:
            cause = f"parameter {_first_bad(before)!r} was already non-finite"
        elif growth[big] > EXPLODING_GROWTH:
            cause = (
                f"exploding parameter: {big!r} norm {before[big]:.3g}, "
                f"{growth[big]:.3g}x its initial; lower the learning rate"
            )
        elif bad_coef:
            cause = f"runaway coefficient {bad_coef}"
        elif param is None:
            cause = (
                f"from finite inputs (largest |x| {x_max:.3g} after scaling) and "
                "parameters; lower the learning rate or coefficients, or rescale the input"
            )
        else:
            cause = (
                f"the optimizer step made parameter {param!r} non-finite "
                f"(its norm before: {before[param]:.3g}); lower the learning rate"
            )
        return NonFiniteTrainingError(step, label, cause)
