"""Recover what interrupted exports left anywhere in a repository folder.

``outputs.OutputFolder`` handles the leftovers beside its own target only; an
export killed while writing SAE ``A`` would leave them until ``A`` is exported
again. ``recover_leftovers(folder)`` handles them on any export into
``folder``: it walks the folder's non-hidden subfolders for the hidden siblings
``outputs`` and ``export`` write (``.<name>.tmp-<id>`` staging folders,
``.<name>.old-<id>`` moved-aside outputs, ``.<name>.lock`` lock files, and
``.README.md.tmp-<id>`` card files). For each ``<name>`` it takes the lock
(``OutputLock.acquire`` removes a lock file no live process holds: its writer
was killed, the kernel dropped the ``flock``, the file stayed) and calls
``outputs.clean_leftovers``: a ``.old-`` folder whose target is missing is
renamed back (the export died between its two renames), everything else is
removed. Each is reported with a warning. Leftovers of a name another process
is writing (it holds the lock) are left alone.
"""

import logging
import re
from collections.abc import Iterator
from pathlib import Path

from sae_lens_signaware.outputs import (
    LOCK_SUFFIX,
    OutputLock,
    OutputLockedError,
    clean_leftovers,
    leftovers,
)

logger = logging.getLogger(__name__)

README = "README.md"
_STAGED = re.compile(r"^\.(?P<name>.+?)\.(?:tmp|old)-.+$")
_LOCK = re.compile(rf"^\.(?P<name>.+){re.escape(LOCK_SUFFIX)}$")
_LOCK_MAX_BYTES = 32  # an OutputLock file holds its holder's pid


def _hidden_entries(root: Path) -> Iterator[Path]:
    """Hidden entries of ``root`` and of its non-hidden subfolders (not followed
    into hidden folders or through symlinks)."""
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            entries = sorted(folder.iterdir())
        except OSError:
            continue
        for entry in entries:
            if entry.name.startswith("."):
                yield entry
            elif entry.is_dir() and not entry.is_symlink():
                stack.append(entry)


def _lock_pid(path: Path) -> str | None:
    """The pid in an ``OutputLock`` file ("" if none yet), or None if ``path`` is
    not one (missing, a folder, too long, not a number)."""
    try:
        if not path.is_file() or path.is_symlink():
            return None
        if path.stat().st_size > _LOCK_MAX_BYTES:
            return None
        text = path.read_text(errors="replace").strip()
    except OSError:
        return None
    return text if text == "" or text.isdigit() else None


def _targets(root: Path) -> list[Path]:
    """The outputs under ``root`` with leftovers or a lock file of ours beside them."""
    found: set[Path] = set()
    for entry in _hidden_entries(root):
        if match := _STAGED.match(entry.name):
            target = entry.with_name(match["name"])
            # staging and moved-aside outputs are folders; only the card is a file
            if (entry.is_dir() and not entry.is_symlink()) or target.name == README:
                found.add(target)
        elif (match := _LOCK.match(entry.name)) and _lock_pid(entry) is not None:
            found.add(entry.with_name(match["name"]))
    return sorted(found)


def recover_leftovers(folder: str | Path) -> list[Path]:
    """Restore or remove what interrupted exports left under ``folder`` (see the
    module docstring); return the leftovers handled (lock files included)."""
    root = Path(folder)
    if not root.is_dir():
        return []
    handled: list[Path] = []
    for target in _targets(root):
        lock = OutputLock(target)
        try:
            if lock.acquire():  # it removed, and named, a killed writer's lock file
                handled.append(lock.path)
        except OutputLockedError:
            logger.info("left %s alone: another process holds its lock", target)
            continue
        try:
            found = leftovers(target)
            if target.name == README or any(p.is_dir() for p in found):
                clean_leftovers(target)  # warns about each
                handled += found
        finally:
            lock.release()  # removes the lock file
    return handled
