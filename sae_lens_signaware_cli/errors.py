"""How a command ends on an error or an interrupt: one line and an exit code.

``report_user_errors`` turns the errors a user can act on (a config field, a
file, a model, a non-finite run: ``USER_ERRORS``) into ``error: <message>``
and exit 1, and an interrupt (Ctrl-C, SIGTERM) into ``interrupted: ...`` and
exit 130 (``INTERRUPTED``), naming the progress checkpoint if one was saved.
Anything else is a bug and keeps its traceback.
"""

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager

INTERRUPTED = 130


def user_errors() -> tuple[type[BaseException], ...]:
    """ValueError covers config fields, hooks, run settings and unknown
    architectures; OSError covers outputs, missing models and files;
    FloatingPointError is a non-finite run; the rest name themselves."""
    from safetensors import SafetensorError

    from sae_lens_signaware.distributed import DistributedError
    from sae_lens_signaware.outputs import OutputLockedError

    return (
        argparse.ArgumentError,
        ValueError,
        OSError,
        FloatingPointError,
        OutputLockedError,
        SafetensorError,
        DistributedError,
        UnicodeDecodeError,
    )


def _interrupt_message(stop: BaseException) -> str:
    describe = getattr(stop, "describe", None)
    if callable(describe):
        return str(describe())
    return "stopped by a signal before the run finished; nothing was written"


@contextmanager
def report_user_errors() -> Iterator[None]:
    """Turn user errors and interrupts into one line and an exit code."""
    try:
        yield
    except KeyboardInterrupt as stop:
        print(f"interrupted: {_interrupt_message(stop)}", file=sys.stderr)
        sys.exit(INTERRUPTED)
    except Exception as error:
        if _is_sae_lens_interrupt(error):
            print(f"interrupted: {_interrupt_message(error)}", file=sys.stderr)
            sys.exit(INTERRUPTED)
        if not isinstance(error, user_errors()):
            raise
        sys.exit(f"error: {error}")  # printed on stderr, exit status 1


def _is_sae_lens_interrupt(error: BaseException) -> bool:
    """SAELens's runners raise their own ``InterruptedException`` on a signal."""
    return type(error).__name__ == "InterruptedException"
