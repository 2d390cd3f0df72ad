"""Atomic, protected output folders: built in a hidden sibling, renamed into place complete.

``OutputFolder(target)`` checks ``target`` before any work (its parent is a
writable folder, ``target`` is not a file, an existing ``target`` needs
``overwrite=True``), takes a lock that refuses a second concurrent writer, and
handles what an interrupted earlier run left beside it. The writer fills
``staging`` (``.<name>.tmp-<id>``); ``publish`` renames it onto ``target``,
moving an existing output aside first (``.<name>.old-<id>``) so that a failure
puts it back. ``atomic_output`` wraps the whole life cycle::

    with atomic_output("output/run", overwrite=args.overwrite) as staging:
        write_everything(staging)
    # output/run now holds everything, or (on any error) what it held before

Leftovers of an interrupted or killed run (a ``.tmp-`` folder, a ``.old-``
folder whose ``target`` is missing: the crash fell between the two renames, a
``.lock`` file no live process holds) are removed, or the old output is put
back, by the next ``open``, and reported with a warning. ``target`` may not be
the current folder or hold it (``--output .`` would replace the folder the run
stands in).
"""

import errno
import fcntl
import logging
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

logger = logging.getLogger(__name__)

TMP_MARK = ".tmp-"
OLD_MARK = ".old-"
LOCK_SUFFIX = ".lock"


class OutputExistsError(FileExistsError):
    """The output exists and the caller did not ask to overwrite it."""


class OutputLockedError(RuntimeError):
    """Another process is writing the same output."""


class OutputPathError(OSError):
    """The output path cannot be written (a file, a read-only or missing parent)."""


def check_output_path(target: str | Path, overwrite: bool = False) -> Path:
    """Raise before any work if ``target`` cannot be (re)written; return it as a Path.

    ``target`` must not be the current folder, one of its ancestors or the
    filesystem root (replacing it would delete the folder the run stands in),
    nor end in ``..``; the nearest existing ancestor must be a writable folder;
    ``target`` itself must not be a file, and may exist only with ``overwrite``.
    """
    path = Path(target)
    _refuse_enclosing_folder(path)
    if path.exists() and not path.is_dir():
        raise OutputPathError(
            errno.ENOTDIR, f"output {path} is a file, not a folder", str(path)
        )
    if path.exists() and not overwrite:
        raise OutputExistsError(
            f"output {path} exists; pass --overwrite (overwrite=True) to replace it"
        )
    ancestor = path.parent
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise OutputPathError(
            errno.ENOTDIR,
            f"cannot create output {path}: {ancestor} is a file",
            str(ancestor),
        )
    try:
        if not os.access(ancestor, os.W_OK | os.X_OK):
            raise PermissionError(errno.EACCES, "permission denied")
        with tempfile.TemporaryFile(dir=ancestor):  # a read-only mount, even as root
            pass
    except OSError as error:
        raise OutputPathError(
            error.errno or errno.EACCES,
            f"cannot write output {path}: {ancestor} is not writable ({error.strerror})",
            str(ancestor),
        ) from error
    return path


def _refuse_enclosing_folder(path: Path) -> None:
    """Refuse an output that holds the current folder: ``.``, an ancestor, ``/``."""
    resolved = path.resolve()
    cwd = Path.cwd().resolve()
    if resolved == cwd:
        raise OutputPathError(
            errno.EINVAL,
            f"refusing to replace the current folder ({resolved}) with output "
            f"{str(path)!r}: name a new folder for the output, e.g. "
            f"{str(path / 'out')!r}",
            str(path),
        )
    if resolved in cwd.parents:
        what = "the filesystem root" if resolved == Path(resolved.anchor) else resolved
        raise OutputPathError(
            errno.EINVAL,
            f"refusing to replace {what} with output {str(path)!r}: it holds the "
            f"current folder ({cwd}); name a new folder for the output",
            str(path),
        )
    if path.name in ("", "..") or resolved == Path(resolved.anchor):
        raise OutputPathError(
            errno.EINVAL,
            f"output {str(path)!r} does not name a folder (it is {resolved}); "
            "give the folder by its name",
            str(path),
        )


def _sibling(target: Path, mark: str, tag: str) -> Path:
    return target.with_name(f".{target.name}{mark}{tag}")


def leftovers(target: str | Path) -> list[Path]:
    """Temporary siblings of ``target`` left by an interrupted run."""
    path = Path(target)
    if not path.parent.is_dir():
        return []
    prefixes = (f".{path.name}{TMP_MARK}", f".{path.name}{OLD_MARK}")
    return sorted(p for p in path.parent.iterdir() if p.name.startswith(prefixes))


def clean_leftovers(target: str | Path) -> list[Path]:
    """Remove ``target``'s leftovers (call it holding the lock); return what was removed.

    A ``.old-`` folder with no ``target`` is the previous output, moved aside by
    a run that died before renaming its new one in: it is put back, not removed.
    """
    path = Path(target)
    removed: list[Path] = []
    for leftover in leftovers(path):
        if OLD_MARK in leftover.name and not path.exists():
            leftover.rename(path)
            logger.warning(
                "restored %s from %s (an interrupted run had moved it aside)",
                path,
                leftover,
            )
            continue
        _remove(leftover)
        removed.append(leftover)
        logger.warning("removed %s, left by an interrupted run", leftover)
    return removed


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


class OutputLock:
    """An exclusive ``flock`` on ``.<name>.lock`` beside ``target``; released on
    ``release`` or when the process dies. A killed run leaves the file but not
    the lock: the next ``acquire`` removes the file and says so."""

    def __init__(self, target: str | Path) -> None:
        path = Path(target)
        self.path = path.with_name(f".{path.name}{LOCK_SUFFIX}")
        self._fd: int | None = None

    def acquire(self) -> bool:
        """Take the lock, or raise ``OutputLockedError`` naming its holder.

        A lock file that no live process holds (its writer was killed: the
        kernel dropped the ``flock``, the file stayed) is removed with a
        warning naming it, and a fresh one is taken. Returns whether it
        removed such a stale lock file."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        removed_stale = False
        while True:
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
                found = False
            except FileExistsError:
                try:
                    fd = os.open(self.path, os.O_RDWR)
                except FileNotFoundError:  # its holder just released it
                    continue
                found = True
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _read_pid(fd)
                os.close(fd)
                target = self.path.with_name(self.path.name[1 : -len(LOCK_SUFFIX)])
                raise OutputLockedError(
                    f"output {target} is being written by another process "
                    f"(pid {holder or '?'}, lock {self.path}); wait for it or pick "
                    "another output"
                ) from None
            # the holder before us may have unlinked the file: lock the live one
            try:
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if same and found:  # nobody holds it: a killed writer's stale lock
                holder = _read_pid(fd)
                self.path.unlink()
                logger.warning(
                    "removed stale lock %s (left by %s, which no longer holds it)",
                    self.path,
                    f"pid {holder}" if holder else "a killed writer",
                )
                removed_stale, same = True, False
            if same:
                break
            os.close(fd)
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._fd = fd
        return removed_stale

    def release(self) -> None:
        if self._fd is None:
            return
        self.path.unlink(missing_ok=True)
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = None

    def __enter__(self) -> "OutputLock":
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def _read_pid(fd: int) -> str:
    return os.pread(fd, 64, 0).decode(errors="replace").strip()


class OutputFolder:
    """One atomic write of the folder ``target`` (see the module docstring).

    Args:
        target: the folder to (re)write.
        overwrite: replace an existing ``target`` (else ``OutputExistsError``).
        lock: hold ``OutputLock`` from ``open`` to ``close``.
    """

    def __init__(
        self, target: str | Path, overwrite: bool = False, lock: bool = True
    ) -> None:
        self.target = check_output_path(target, overwrite)
        self.overwrite = overwrite
        tag = uuid.uuid4().hex
        self.staging = _sibling(self.target, TMP_MARK, tag)
        self._trash = _sibling(self.target, OLD_MARK, tag)
        self._lock = OutputLock(self.target) if lock else None
        self._created: list[Path] = []
        self._published = False

    def open(self) -> Path:
        """Create the parents, take the lock, handle leftovers, create ``staging``."""
        self._created = [p for p in reversed(self.target.parents) if not p.exists()]
        self.target.parent.mkdir(parents=True, exist_ok=True)
        try:
            if self._lock is not None:
                self._lock.acquire()
                clean_leftovers(self.target)
            check_output_path(self.target, self.overwrite)  # again, under the lock
            # not mkdtemp: its 0700 mode would stick to the published folder
            self.staging.mkdir()
        except BaseException:
            self.rollback()
            raise
        return self.staging

    def publish(self) -> None:
        """Rename ``staging`` onto ``target`` (the old one moved aside until ``close``)."""
        if self.target.exists():
            if not self.overwrite:
                raise OutputExistsError(
                    f"output {self.target} appeared while writing; not replacing it"
                )
            self.target.rename(self._trash)
        self.staging.rename(self.target)
        self._published = True

    def rollback(self) -> None:
        """Undo ``publish`` if it ran, put the old output back, drop ``staging``."""
        if self._published:
            shutil.rmtree(self.target, ignore_errors=True)
            self._published = False
        if self._trash.exists() and not self.target.exists():
            self._trash.rename(self.target)
        shutil.rmtree(self.staging, ignore_errors=True)
        self._release()
        for parent in reversed(self._created):
            if parent.exists() and not any(parent.iterdir()):
                parent.rmdir()

    def close(self) -> None:
        """Drop the moved-aside old output and ``staging`` leftovers; release the lock."""
        if self._published:
            shutil.rmtree(self._trash, ignore_errors=True)
        shutil.rmtree(self.staging, ignore_errors=True)
        self._release()

    def _release(self) -> None:
        if self._lock is not None:
            self._lock.release()


def write_atomic(path: str | Path, data: str | bytes) -> Path:
    """Write one file whole: into a hidden sibling, then ``os.replace`` onto ``path``."""
    target = Path(path)
    tmp = _sibling(target, TMP_MARK, uuid.uuid4().hex)
    try:
        if isinstance(data, bytes):
            tmp.write_bytes(data)
        else:
            tmp.write_text(data)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target


@contextmanager
def atomic_output(
    target: str | Path, overwrite: bool = False, lock: bool = True
) -> Iterator[Path]:
    """Yield a staging folder; publish it as ``target`` if the block succeeds, else
    leave ``target`` as it was (see ``OutputFolder``)."""
    folder = OutputFolder(target, overwrite=overwrite, lock=lock)
    staging = folder.open()
    try:
        yield staging
        folder.publish()
    except BaseException:
        folder.rollback()
        raise
    finally:
        folder.close()
