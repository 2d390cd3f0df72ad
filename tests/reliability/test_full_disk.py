"""A full disk, simulated by patching the writer.

Policy (README, "Reliability"): a checkpoint that cannot be written is logged
and removed whole, training goes on, earlier checkpoints stay intact, and the
final SAE is still saved to ``output_path``; a final save that fails leaves
the previous output as it was.
"""

import errno
from pathlib import Path
from typing import Any

import pytest
import sae_lens.training.sae_trainer as sae_trainer
from sae_lens.saes.sae import TrainingSAE

from sae_lens_signaware.training import SignAwareTrainingRunner
from tests.reliability.tiny import batches, tiny_trainer
from tests.runner_configs import runner_cfg


def _full_disk(*args: Any, **kwargs: Any) -> None:  # noqa: ARG001
    raise OSError(errno.ENOSPC, "No space left on device")


def test_full_checkpoint_disk_training_goes_on(tmp_path, monkeypatch, caplog) -> None:
    monkeypatch.setattr(sae_trainer, "save_file", _full_disk)
    root = tmp_path / "ckpt"
    trainer = tiny_trainer(batches(), n_steps=9, checkpoint_path=root, n_checkpoints=2)
    trainer.fit()
    assert trainer.n_training_steps == 9
    assert len(trainer.checkpoint_errors) == 2
    assert not root.exists()  # no empty or partial checkpoint folder left
    assert "could not write checkpoint" in caplog.text and "No space" in caplog.text


def test_a_failed_checkpoint_keeps_the_earlier_ones(tmp_path, monkeypatch) -> None:
    real = sae_trainer.save_file
    calls = {"n": 0}

    def fails_second(*args: Any, **kwargs: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            _full_disk()
        real(*args, **kwargs)

    monkeypatch.setattr(sae_trainer, "save_file", fails_second)
    trainer = tiny_trainer(
        batches(), n_steps=9, checkpoint_path=tmp_path, n_checkpoints=2
    )
    trainer.fit()
    assert [p.name for p in tmp_path.iterdir()] == ["128"]
    assert trainer.last_checkpoint == tmp_path / "128"
    assert len(trainer.checkpoint_errors) == 1


def test_full_checkpoint_disk_still_saves_the_final_sae(
    tinystories_model, tmp_path, monkeypatch
) -> None:
    monkeypatch.setattr(sae_trainer, "save_file", _full_disk)
    cfg = runner_cfg(tmp_path, tokens=4096, n_checkpoints=1)
    runner = SignAwareTrainingRunner(cfg, override_model=tinystories_model)
    runner.run()
    assert (tmp_path / "out" / "sae_weights.safetensors").is_file()
    assert runner.trainer is not None and len(runner.trainer.checkpoint_errors) == 1
    assert cfg.checkpoint_path is not None
    assert not Path(cfg.checkpoint_path).exists()


def test_full_output_disk_keeps_the_previous_output(
    tinystories_model, tmp_path, monkeypatch
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "cfg.json").write_text("previous")
    monkeypatch.setattr(TrainingSAE, "save_inference_model", _full_disk)
    cfg = runner_cfg(tmp_path, tokens=2048, checkpoint_path=None)
    runner = SignAwareTrainingRunner(
        cfg, override_model=tinystories_model, overwrite=True
    )
    with pytest.raises(OSError, match="No space"):
        runner.run()
    assert [p.name for p in out.iterdir()] == ["cfg.json"]
    assert (out / "cfg.json").read_text() == "previous"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_interrupt_with_a_full_disk_reports_it(
    tinystories_model, tmp_path, monkeypatch
) -> None:
    import os
    import signal

    from sae_lens_signaware.training.interrupts import TrainingInterrupted

    monkeypatch.setattr(sae_trainer, "save_file", _full_disk)
    cfg = runner_cfg(tmp_path, tokens=4096)

    def interrupt(output: Any) -> None:  # noqa: ARG001
        os.kill(os.getpid(), signal.SIGINT)

    runner = SignAwareTrainingRunner(
        cfg, override_model=tinystories_model, on_step=[interrupt]
    )
    with pytest.raises(TrainingInterrupted) as exc:
        runner.run()
    assert exc.value.step == 1 and exc.value.checkpoint is None
    assert "no progress checkpoint" in str(exc.value)
    assert not (tmp_path / "out").exists()
