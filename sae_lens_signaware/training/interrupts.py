"""Clean interrupts: Ctrl-C or SIGTERM stops training between two steps.

SAELens's handler raises from inside whatever the trainer is doing (half an
optimizer step, half a checkpoint). ``stop_on_signals`` instead records the
request (``StopRequest``); ``Trainer`` checks it at the top of each loop pass,
where every counter, the optimizer and the SAE agree, and raises
``TrainingInterrupted``. A second signal raises ``KeyboardInterrupt`` at once.
"""

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


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
