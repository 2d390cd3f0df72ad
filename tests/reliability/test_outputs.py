"""Atomic, protected output folders (``sae_lens_signaware.outputs``)."""

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from sae_lens_signaware import outputs
from sae_lens_signaware.outputs import (
    OutputExistsError,
    OutputLock,
    OutputLockedError,
    OutputPathError,
    atomic_output,
    check_output_path,
    leftovers,
    write_atomic,
)

#: load outputs.py alone (stdlib only): importing the package takes seconds
LOAD_OUTPUTS = textwrap.dedent(
    f"""
    import importlib.util
    spec = importlib.util.spec_from_file_location("outputs", {str(outputs.__file__)!r})
    outputs = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(outputs)
    """
)


def _fill(folder: Path, text: str) -> None:
    (folder / "weights").write_text(text)
    (folder / "metrics.json").write_text(text)


def test_published_complete(tmp_path) -> None:
    out = tmp_path / "deep" / "run"
    with atomic_output(out) as staging:
        _fill(staging, "new")
        assert not out.exists()  # nothing visible until the block ends
    assert sorted(p.name for p in out.iterdir()) == ["metrics.json", "weights"]
    assert sorted(p.name for p in out.parent.iterdir()) == ["run"]  # no lock, no tmp


def test_existing_output_is_refused_without_overwrite(tmp_path) -> None:
    out = tmp_path / "run"
    out.mkdir()
    with pytest.raises(OutputExistsError, match="--overwrite"):
        check_output_path(out)
    with pytest.raises(OutputExistsError), atomic_output(out):
        pass


def test_overwrite_replaces_atomically(tmp_path) -> None:
    out = tmp_path / "run"
    out.mkdir()
    _fill(out, "old")
    (out / "stale.txt").write_text("from the old run")
    with atomic_output(out, overwrite=True) as staging:
        _fill(staging, "new")
        assert (out / "weights").read_text() == "old"
    assert (out / "weights").read_text() == "new"
    assert not (out / "stale.txt").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


@pytest.mark.parametrize("error", [RuntimeError("eval failed"), KeyboardInterrupt()])
def test_failure_leaves_the_old_output(tmp_path, error) -> None:
    out = tmp_path / "run"
    out.mkdir()
    _fill(out, "old")
    with pytest.raises(type(error)), atomic_output(out, overwrite=True) as staging:
        (staging / "weights").write_text("new")  # new weights, no metrics yet
        raise error
    assert (out / "weights").read_text() == "old"
    assert (out / "metrics.json").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_failure_of_a_first_run_leaves_nothing(tmp_path) -> None:
    out = tmp_path / "a" / "b" / "run"
    with pytest.raises(RuntimeError), atomic_output(out):
        raise RuntimeError
    assert list(tmp_path.iterdir()) == []


def test_output_that_is_a_file_is_refused(tmp_path) -> None:
    (tmp_path / "run").write_text("not a folder")
    with pytest.raises(OutputPathError, match="is a file"):
        check_output_path(tmp_path / "run", overwrite=True)
    with pytest.raises(OutputPathError, match="is a file"):
        check_output_path(tmp_path / "run" / "inner")


def test_a_second_writer_in_this_process_is_refused(tmp_path) -> None:
    out = tmp_path / "run"
    with (
        atomic_output(out),
        pytest.raises(OutputLockedError, match=r"run is being written .*pid"),
        atomic_output(out),
    ):
        pass
    assert out.is_dir()


def test_two_concurrent_processes_one_is_refused(tmp_path) -> None:
    out = tmp_path / "run"
    holder = LOAD_OUTPUTS + textwrap.dedent(
        f"""
        import sys
        with outputs.atomic_output({str(out)!r}) as staging:
            (staging / "weights").write_text("first")
            print("locked", flush=True)
            sys.stdin.readline()
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", holder],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
        with (
            pytest.raises(OutputLockedError, match=f"pid {proc.pid}"),
            atomic_output(out),
        ):
            pass
    finally:
        proc.communicate("\n", timeout=30)
    assert proc.returncode == 0
    assert (out / "weights").read_text() == "first"  # the first writer's, whole


def test_lock_of_a_killed_writer_is_not_stale(tmp_path) -> None:
    out = tmp_path / "run"
    code = (
        LOAD_OUTPUTS
        + f"outputs.OutputLock({str(out)!r}).acquire(); import os; os._exit(9)"
    )
    subprocess.run([sys.executable, "-c", code], check=False)
    with OutputLock(out):  # the kernel released the flock with the process
        pass


def test_leftovers_are_cleaned_and_an_old_output_restored(tmp_path, caplog) -> None:
    out = tmp_path / "run"
    (tmp_path / ".run.tmp-dead").mkdir()  # an interrupted run's staging
    old = tmp_path / ".run.old-dead"  # died between the two renames
    old.mkdir()
    _fill(old, "good")
    assert len(leftovers(out)) == 2
    # restored first, so it now exists
    with pytest.raises(OutputExistsError), atomic_output(out):
        pass
    assert (out / "weights").read_text() == "good"
    assert leftovers(out) == []
    assert "restored" in caplog.text and "removed" in caplog.text


def test_write_atomic_failure_keeps_the_old_file(tmp_path, monkeypatch) -> None:
    path = tmp_path / "summary.json"
    path.write_text("old")

    def full_disk(self: Path, data: str) -> int:  # noqa: ARG001
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "write_text", full_disk)
    with pytest.raises(OSError, match="No space"):
        write_atomic(path, "new")
    monkeypatch.undo()
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]


@pytest.mark.skipif(not Path("/sys").is_dir(), reason="needs Linux sysfs")
def test_unwritable_output_is_refused_before_any_work() -> None:
    # sysfs refuses new files even to root (os.access alone would not tell)
    with pytest.raises(OutputPathError, match="/sys is not writable"):
        check_output_path("/sys/sae_out")
