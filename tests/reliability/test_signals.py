"""Signals end a run cleanly, and what a killed run leaves is cleaned up.

- ``sae-signaware sweep`` on SIGINT or SIGTERM: one ``interrupted:`` line last,
  exit code 130, no traceback, no output folder and nothing hidden beside it;
  its trainer stops between two steps and, given a ``checkpoint_path``, writes
  a whole progress checkpoint; its bar runs to the end and labels losses;
- ``torchrun`` of the training command on SIGINT: every rank names the same
  progress checkpoint (rank 0 wrote it) and exits 130;
- a writer killed inside an ``OutputFolder``: the next ``open`` removes its
  stale lock and staging folder and names them; a writer interrupted by
  SIGINT leaves nothing;
- an output that is the current folder, one of its ancestors or ``/`` is
  refused up front (replacing it would delete the folder the run stands in).
"""

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import torch
from sae_lens.config import SAETrainerConfig

from sae_lens_signaware import outputs
from sae_lens_signaware.outputs import OutputPathError, atomic_output, check_output_path
from sae_lens_signaware.training import multi
from sae_lens_signaware.training.interrupts import TrainingInterrupted
from sae_lens_signaware.training.multi import MultiTrainer
from sae_lens_signaware_cli.assets import DEFAULT_HOOK, hub_cache_dir
from sae_lens_signaware_cli.errors import INTERRUPTED
from sae_lens_signaware_cli.sweep import sweep_config, sweep_entries
from tests.cli.test_train import cli_args
from tests.launch import REPO, free_port
from tests.reliability.tiny import BATCH, batches, tiny_sae

#: long enough that the signal lands mid-training: 400 steps of 1024 tokens
LONG_RUN_TOKENS = 409_600
START_TIMEOUT_S = 240.0


def subprocess_env() -> dict[str, str]:
    return {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "HF_HUB_CACHE": str(hub_cache_dir()),
        "OMP_NUM_THREADS": "1",
        "PYTHONPATH": str(REPO),
    }


def wait_for(paths: list[Path], text: str, proc: subprocess.Popen[bytes]) -> None:
    """Until every file in ``paths`` contains ``text`` (or ``proc`` has ended)."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            logs = "\n".join(p.read_text()[-3000:] for p in paths if p.exists())
            raise AssertionError(f"ended before {text!r} ({proc.returncode}): {logs}")
        if all(p.exists() and text in p.read_text() for p in paths):
            return
        time.sleep(0.2)
    raise AssertionError(f"no {text!r} in {paths} after {START_TIMEOUT_S} s")


def last_line(text: str) -> str:
    """The last line as a terminal shows it (tqdm redraws with carriage returns)."""
    lines = [line for line in text.replace("\r", "\n").splitlines() if line.strip()]
    return lines[-1] if lines else ""


# --- the sweep command ------------------------------------------------------


@pytest.mark.integration
@pytest.mark.parametrize(
    "sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"]
)
def test_sweep_stopped_by_a_signal_exits_130_with_one_line_and_no_output(
    tmp_path: Path, sig: signal.Signals
) -> None:
    out = tmp_path / "sweep"
    log = tmp_path / "stderr.txt"
    argv = [sys.executable, "-m", "sae_lens_signaware_cli", "sweep"]
    argv += ["--targets", "4", "8", "--d-sae", "128", "--output", str(out)]
    argv += ["--training-tokens", str(LONG_RUN_TOKENS)]
    with log.open("wb") as stderr:
        proc = subprocess.Popen(
            argv,
            cwd=REPO,
            env=subprocess_env(),
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
        try:
            wait_for([log], "Training 2 SAEs", proc)  # the handlers are in place
            proc.send_signal(sig)
            code = proc.wait(timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
    text = log.read_text()
    assert code == INTERRUPTED, text[-3000:]
    assert "Traceback" not in text
    assert last_line(text).startswith("interrupted: training interrupted after ")
    assert text.count("interrupted: ") == 1
    assert "no progress checkpoint" in last_line(text)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["stderr.txt"]


# --- the multi-SAE trainer and runner in process -----------------------------


class RecordingBar:
    """Stands in for tqdm: records what the trainer shows."""

    def __init__(self, total: int, initial: int = 0, **kwargs: Any) -> None:
        self.total = total
        self.n = initial
        self.descriptions: list[str] = []
        self.closed = False
        bars.append(self)

    def update(self, n: int) -> None:
        self.n += n

    def set_description(self, text: str) -> None:
        self.descriptions.append(text)

    def close(self) -> None:
        self.closed = True


bars: list[RecordingBar] = []


def tiny_multi_trainer(data: Iterator[dict[str, torch.Tensor]]) -> MultiTrainer:
    cfg = SAETrainerConfig(
        total_training_samples=10 * BATCH,
        train_batch_size_samples=BATCH,
        lr=1e-3,
        lr_end=1e-3,
        dead_feature_window=1000,
        feature_sampling_window=1000,
        checkpoint_path=None,
    )
    saes = {"l0_4": tiny_sae(), "l0_8": tiny_sae()}
    return MultiTrainer(cfg, saes, {"l0_4": "h", "l0_8": "h"}, data)


def test_multi_bar_advances_every_step_to_the_end_and_labels_losses(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(multi, "tqdm", RecordingBar)
    bars.clear()
    trainer = tiny_multi_trainer({"h": b} for b in batches())
    trainer.fit()
    (bar,) = bars
    assert bar.n == bar.total == 10 * BATCH and bar.closed
    final = bar.descriptions[-1]
    assert final.startswith("Training 2 SAEs: step 10, loss[l0_4] ")
    assert ", loss[l0_8] " in final and "l0_4:" not in final


def test_multi_stop_request_ends_between_steps_and_closes_the_bar(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(multi, "tqdm", RecordingBar)
    bars.clear()

    def stop_during_step_2() -> Iterator[dict[str, torch.Tensor]]:
        for i, batch in enumerate(batches()):
            if i == 2:
                trainer.stop_request.request(signal.SIGTERM)  # as the handler does
            yield {"h": batch}

    trainer = tiny_multi_trainer(stop_during_step_2())
    with pytest.raises(TrainingInterrupted) as exc:
        trainer.fit()
    assert exc.value.step == 3  # step 2 finished, then the loop stopped
    assert trainer.n_training_samples == 3 * BATCH
    assert all(t.n_training_steps == 3 for t in trainer.trainers.values())
    assert bars[0].closed


@pytest.mark.integration
def test_multi_runner_signal_writes_a_whole_progress_checkpoint(
    tinystories_model: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = sweep_config(
        sweep_entries([4, 16], [128]), {DEFAULT_HOOK: 128}, tokens=8192, output=None
    )
    cfg = replace(
        cfg, n_batches_for_norm_estimate=2, checkpoint_path=str(tmp_path / "ckpt")
    )
    runner = multi.MultiRunner(
        cfg, override_model=tinystories_model, override_saes=multi.seeded_saes(cfg)
    )
    loader = runner.activations_store.get_multi_hook_data_loader

    def signal_at_step_2() -> Iterator[dict[str, torch.Tensor]]:
        for i, multi_batch in enumerate(loader()):
            if i == 2 + 2:  # two norm-estimate batches, then step k is batch 2 + k
                os.kill(os.getpid(), signal.SIGINT)  # through the real handler
            yield multi_batch

    monkeypatch.setattr(
        runner.activations_store, "get_multi_hook_data_loader", signal_at_step_2
    )
    before = signal.getsignal(signal.SIGINT)
    with pytest.raises(TrainingInterrupted) as exc:
        runner.run()
    assert signal.getsignal(signal.SIGINT) is before  # handlers restored
    assert exc.value.step == 3
    assert exc.value.checkpoint is not None
    checkpoint = Path(exc.value.checkpoint)
    assert checkpoint.name == "3072"
    assert {p.name for p in checkpoint.iterdir()} == {
        "l0_4",
        "l0_16",
        "activations_store_state.safetensors",
        "runner_cfg.json",
    }
    for name in ("l0_4", "l0_16"):
        files = {p.name for p in (checkpoint / name).iterdir()}
        assert {
            "sae_weights.safetensors",
            "cfg.json",
            "sparsity.safetensors",
            "trainer_state.pt",
            "activation_scaler.json",
        } <= files
        state = torch.load(checkpoint / name / "trainer_state.pt")
        assert state["n_training_steps"] == 3 and state["n_training_samples"] == 3072
    assert [p.name for p in checkpoint.parent.iterdir()] == ["3072"]  # nothing hidden
    assert "progress saved to" in exc.value.describe()


# --- torchrun ---------------------------------------------------------------

#: one rank of the training command; its stderr and exit code go to $LOGS
RANK_SCRIPT = (
    f'{sys.executable} -m sae_lens_signaware_cli.train "$@" '
    '2> "$LOGS/stderr.$RANK"; echo $? > "$LOGS/rc.$RANK"'
)


@pytest.mark.slow
def test_torchrun_sigint_every_rank_names_the_same_checkpoint(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    args = cli_args(tmp_path, tokens=LONG_RUN_TOKENS)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2"]
    cmd += [f"--master_port={free_port()}", "--no-python"]
    cmd += ["bash", "-c", RANK_SCRIPT, "bash", *args]
    env = {**subprocess_env(), "LOGS": str(logs), "SAE_SIGNAWARE_DIST_TIMEOUT": "60"}
    # its own process group, as a terminal's: Ctrl-C signals the whole group
    proc = subprocess.Popen(
        cmd,
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    stderr = [logs / f"stderr.{rank}" for rank in (0, 1)]
    try:
        wait_for(stderr, "Training SAE", proc)
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=180)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    texts = [p.read_text() for p in stderr]
    codes = [(logs / f"rc.{rank}").read_text().strip() for rank in (0, 1)]
    assert codes == [str(INTERRUPTED)] * 2, [t[-3000:] for t in texts]
    lines = [last_line(t) for t in texts]
    assert all(
        line.startswith("interrupted: training interrupted after") for line in lines
    )
    saved = [line.split("progress saved to ")[1].split(" ")[0] for line in lines]
    assert saved[0] == saved[1], lines
    checkpoint = Path(saved[0])
    assert (checkpoint / "trainer_state.pt").is_file()
    assert (checkpoint / "sae_weights.safetensors").is_file()
    assert lines[0] == lines[1]  # the same step, too
    assert not (tmp_path / "out").exists()


# --- a writer killed or interrupted mid-write --------------------------------

#: load outputs.py alone (stdlib only): importing the package takes seconds
HOLDER = textwrap.dedent(
    f"""
    import importlib.util, sys
    spec = importlib.util.spec_from_file_location("outputs", {str(outputs.__file__)!r})
    outputs = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(outputs)
    with outputs.atomic_output(sys.argv[1]) as staging:
        (staging / "weights").write_text("half")
        print(staging, flush=True)
        sys.stdin.readline()  # mid-write until killed
    """
)


def start_writer(target: Path) -> tuple[subprocess.Popen[str], Path]:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(target)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    return proc, Path(proc.stdout.readline().strip())


def test_killed_writer_leftovers_are_removed_and_named_by_the_next_open(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    out = tmp_path / "run"
    proc, staging = start_writer(out)
    proc.kill()  # SIGKILL: no handler, no cleanup
    proc.communicate(timeout=30)
    lock = tmp_path / ".run.lock"
    assert sorted(tmp_path.iterdir()) == sorted([lock, staging])
    with caplog.at_level("WARNING", logger=outputs.__name__), atomic_output(out) as new:
        (new / "weights").write_text("whole")
    assert f"removed stale lock {lock} (left by pid {proc.pid}" in caplog.text
    assert f"removed {staging}, left by an interrupted run" in caplog.text
    assert [p.name for p in tmp_path.iterdir()] == ["run"]
    assert (out / "weights").read_text() == "whole"


def test_sigint_during_a_write_leaves_nothing(tmp_path: Path) -> None:
    proc, staging = start_writer(tmp_path / "run")
    assert staging.is_dir()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert "KeyboardInterrupt" in err
    assert list(tmp_path.iterdir()) == []  # no output, staging, lock or parent


# --- outputs that hold the current folder ------------------------------------


@pytest.mark.parametrize(
    "target", [".", "./", "sub/..", "CWD"], ids=["dot", "dot_slash", "sub_up", "abs"]
)
@pytest.mark.parametrize("overwrite", [False, True], ids=["new", "overwrite"])
def test_output_that_is_the_current_folder_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, target: str, overwrite: bool
) -> None:
    monkeypatch.chdir(tmp_path)
    target = str(tmp_path) if target == "CWD" else target
    (tmp_path / "keep.txt").write_text("mine")
    refused = "refusing to replace the current folder"
    with pytest.raises(OutputPathError, match=refused):
        check_output_path(target, overwrite=overwrite)
    with (
        pytest.raises(OutputPathError, match=refused),
        atomic_output(target, overwrite=overwrite),
    ):
        pass
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_output_that_holds_the_current_folder_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inner = tmp_path / "a" / "b"
    inner.mkdir(parents=True)
    monkeypatch.chdir(inner)
    for target in ("..", str(tmp_path / "a"), "../..", str(tmp_path)):
        with pytest.raises(OutputPathError, match="it holds the current folder"):
            check_output_path(target, overwrite=True)


def test_filesystem_root_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(
        OutputPathError, match="refusing to replace the filesystem root"
    ):
        check_output_path("/", overwrite=True)
