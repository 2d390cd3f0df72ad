"""Upstream messages that this package's own calls trigger and that the caller
cannot act on, silenced at those calls only (``quiet``).

- SAELens's "Dataset is not tokenized" warning, where we stream raw text on
  purpose (evaluation on a text split, the demo commands);
- SAELens's "You just passed in a model which will override ..." warning,
  where a command passes the model it loaded itself;
- Transformers' "Loading weights" progress bar, where we load a small model.

Everything else (a user's own runner on a user's own dataset, say) keeps
SAELens's messages.
"""

import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

UNTOKENIZED = "Dataset is not tokenized"
OVERRIDE_MODEL = "You just passed in a model which will override"


class _DropMessages(logging.Filter):
    def __init__(self, prefixes: tuple[str, ...]) -> None:
        super().__init__()
        self.prefixes = prefixes

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.getMessage()).startswith(self.prefixes)


@contextmanager
def quiet(*messages: str, loading_bars: bool = False) -> Iterator[None]:
    """Silence the upstream ``messages`` (warnings and ``sae_lens`` log records that
    start with them) and, with ``loading_bars``, Transformers' progress bars."""
    logger = logging.getLogger("sae_lens")
    dropper = _DropMessages(messages)
    logger.addFilter(dropper)
    bars_were_on = _transformers_bars(False) if loading_bars else None
    try:
        with warnings.catch_warnings():
            for message in messages:
                warnings.filterwarnings("ignore", message=f"{message}.*")
            yield
    finally:
        logger.removeFilter(dropper)
        if bars_were_on:
            _transformers_bars(True)


def _transformers_bars(on: bool) -> bool:
    """Turn Transformers' progress bars on or off; return whether they were on."""
    from transformers.utils import logging as hf_logging

    was_on = hf_logging.is_progress_bar_enabled()
    if on:
        hf_logging.enable_progress_bar()
    else:
        hf_logging.disable_progress_bar()
    return was_on
