"""The errors a command line reports as one line (exit 1), not as a traceback.

Each of them names what is wrong (the field, the file, the model, the step);
``report_user_errors`` prints ``error: <message>`` and exits 1, or 130 after an
interrupt (the progress checkpoint, if any, is in the message).
"""

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from safetensors import SafetensorError

from sae_lens_signaware.outputs import OutputLockedError
from sae_lens_signaware.training.interrupts import TrainingInterrupted

#: ValueError covers config fields, HookShapeError, RunConfigError and unknown
#: architectures; OSError covers outputs (exists, not writable), missing models,
#: files; FloatingPointError is NonFiniteTrainingError.
USER_ERRORS: tuple[type[BaseException], ...] = (
    argparse.ArgumentError,
    ValueError,
    OSError,
    FloatingPointError,
    OutputLockedError,
    SafetensorError,
)


@contextmanager
def report_user_errors() -> Iterator[None]:
    """Turn ``USER_ERRORS`` and interrupts into ``error: ...`` and an exit code."""
    try:
        yield
    except TrainingInterrupted as stop:
        print(f"interrupted: {stop.describe()}", file=sys.stderr)
        sys.exit(130)
    except USER_ERRORS as error:
        sys.exit(f"error: {error}")
