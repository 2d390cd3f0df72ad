"""Clean interrupts: Ctrl-C or SIGTERM stops training between two steps.

SAELens's handler raises from inside whatever the trainer is doing (half an
optimizer step, half a checkpoint). ``stop_on_signals`` instead records the
request (``StopRequest``); ``Trainer`` checks it at the top of each loop pass,
where every counter, the optimizer and the SAE agree, and raises
``TrainingInterrupted``. A second signal raises ``KeyboardInterrupt`` at once.
"""

import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any, Protocol

from sae_lens_signaware.distributed import broadcast_object, is_main_process

logger = logging.getLogger(__name__)


class TrainingInterrupted(KeyboardInterrupt):
    """Training stopped on request between steps; ``step`` steps were completed
    and ``checkpoint`` (if set) holds them."""

    def __init__(self, step: int, checkpoint: str | None = None) -> None:
        self.step = step
        self.checkpoint = checkpoint
        super().__init__(self.describe())

    def describe(self) -> str:
        where = (
            f"progress saved to {self.checkpoint} (resume with "
            f"--resume_from_checkpoint {self.checkpoint})"
            if self.checkpoint
            else "no progress checkpoint (no checkpoint_path)"
        )
        return f"training interrupted after {self.step} steps; {where}"


class StopRequest:
    """Set by a signal handler (or a caller); read by the trainer between steps."""

    def __init__(self) -> None:
        self.signal: int | None = None

    def __bool__(self) -> bool:
        return self.signal is not None

    def request(self, signum: int = signal.SIGINT) -> None:
        self.signal = signum


@contextmanager
def stop_on_signals(request: StopRequest) -> Iterator[StopRequest]:
    """Route SIGINT and SIGTERM to ``request`` while the block runs (main thread
    only; elsewhere signals keep their handlers)."""
    if threading.current_thread() is not threading.main_thread():
        yield request
        return

    def handle(signum: int, frame: FrameType | None) -> None:  # noqa: ARG001
        if request:
            raise KeyboardInterrupt(f"second signal {signum}: stopping now")
        request.request(signum)

    previous = {s: signal.signal(s, handle) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield request
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


class InterruptibleTrainer(Protocol):
    """What ``fit_until_interrupted`` needs of a trainer (ours and the sweep's)."""

    stop_request: StopRequest
    last_checkpoint: Path | None
    checkpoint_errors: list[OSError]
    n_training_samples: int

    def fit(self) -> Any: ...

    def save_checkpoint(self, checkpoint_name: str) -> None: ...


def fit_until_interrupted(
    trainer: InterruptibleTrainer, checkpoint_path: str | None
) -> Any:
    """``trainer.fit()``; on Ctrl-C or SIGTERM stop between two steps, write a
    whole progress checkpoint under ``checkpoint_path`` (if set) and raise
    ``TrainingInterrupted`` naming it. A second signal stops at once
    (``KeyboardInterrupt``), with no progress checkpoint."""
    with stop_on_signals(trainer.stop_request):
        try:
            return trainer.fit()
        except TrainingInterrupted as stop:
            raise save_progress(trainer, stop.step, checkpoint_path) from None
        except KeyboardInterrupt:
            logger.warning(
                "interrupted inside a step: no progress checkpoint "
                "(the newest whole one is %s)",
                trainer.last_checkpoint,
            )
            raise


def save_progress(
    trainer: InterruptibleTrainer, step: int, checkpoint_path: str | None
) -> TrainingInterrupted:
    """Write the progress checkpoint (rank 0 writes) and return the interrupt
    naming it; under ``torch.distributed`` rank 0 broadcasts the path it saved
    (or None), so that every rank reports the same checkpoint."""
    if checkpoint_path is None:
        logger.warning("interrupted after %d steps; no checkpoint_path", step)
        return TrainingInterrupted(step)
    saved: str | None = None
    if is_main_process():
        logger.warning("interrupted after %d steps, saving progress", step)
    before = trainer.last_checkpoint
    trainer.save_checkpoint(checkpoint_name=str(trainer.n_training_samples))
    if is_main_process():
        last = trainer.last_checkpoint
        if last is None or last is before:  # no new whole checkpoint recorded
            errors = trainer.checkpoint_errors
            logger.error(
                "could not save the progress checkpoint (%s); the newest whole "
                "checkpoint is %s",
                errors[-1] if errors else None,
                last,
            )
        saved = None if last is None else str(last)
    return TrainingInterrupted(step, broadcast_object(saved))
