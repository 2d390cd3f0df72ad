"""Checkpoints written whole or not at all, and a full disk that does not end the run.

``write_checkpoint`` has SAELens's trainer write a checkpoint into a hidden
sibling (``<checkpoint_path>/.<name>.tmp-<id>``) and renames it to ``<name>``
only once every file is in, so a reader (``resume_from_checkpoint``) never sees
a half-written one. If the write fails with an ``OSError`` (a full or
read-only disk), the partial folder is removed and the error returned: the
trainer logs it and trains on, and the final SAE is still saved to
``output_path`` (often another disk); the previous checkpoints stay intact.
Under ``torch.distributed`` only rank 0 touches the folder (another rank
cleaning leftovers could remove rank 0's staging folder).
"""

import logging
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from sae_lens_signaware.distributed import is_main_process
from sae_lens_signaware.outputs import TMP_MARK, clean_leftovers

logger = logging.getLogger(__name__)


def write_checkpoint(
    save: Callable[[str], None], base: str | Path, name: str
) -> Path | None:
    """Run ``save(staging_name)`` (which writes ``base/staging_name``), then rename
    it to ``base/name``; return that path, or None if ``save`` wrote nothing (a
    rank that does not write)."""
    if not is_main_process():  # rank 0 writes; save() stays called for its collectives
        save(name)
        return None
    root = Path(base)
    target = root / name
    if root.is_dir():
        clean_leftovers(target)
    staging = root / f".{name}{TMP_MARK}{uuid.uuid4().hex}"
    created = not root.exists()
    try:
        save(staging.name)
        if not staging.exists():
            return None
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        if created and root.is_dir() and not any(root.iterdir()):
            root.rmdir()
        raise
    return target


def try_write_checkpoint(
    save: Callable[[str], None], base: str | Path, name: str
) -> tuple[Path | None, OSError | None]:
    """``write_checkpoint``, with an ``OSError`` logged and returned instead of raised."""
    try:
        return write_checkpoint(save, base, name), None
    except OSError as error:
        logger.warning(
            "could not write checkpoint %s (%s); training goes on, the final SAE "
            "will still be saved, and earlier checkpoints are intact",
            Path(base) / name,
            error,
        )
        return None, error


class CheckpointRecord(Protocol):
    """Where a trainer keeps its newest whole checkpoint and its write errors."""

    last_checkpoint: Path | None
    checkpoint_errors: list[OSError]


def record_checkpoint(
    trainer: CheckpointRecord, save: Callable[[str], None], base: str | Path, name: str
) -> None:
    """``try_write_checkpoint``, remembering on ``trainer`` the checkpoint written
    (``last_checkpoint``) or the error (``checkpoint_errors``)."""
    path, error = try_write_checkpoint(save, base, name)
    if error is not None:
        trainer.checkpoint_errors.append(error)
    elif path is not None:
        trainer.last_checkpoint = path
