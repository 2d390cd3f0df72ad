"""Finite or stop: a NaN or inf anywhere in training stops it at that step, names
the step, the term and the cause, and writes nothing non-finite."""

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from sae_lens_signaware.errors import NonFiniteTrainingError
from tests.reliability.tiny import batches, tiny_sae, tiny_trainer


def _newest_checkpoint(root: Path) -> Path | None:
    found = [p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")]
    return max(found, key=lambda p: int(p.name), default=None)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_batch_stops_at_its_step(value: float) -> None:
    trainer = tiny_trainer(batches(nan_at=4, value=value), n_steps=10)
    with pytest.raises(NonFiniteTrainingError) as exc:
        trainer.fit()
    error = exc.value
    assert error.step == 4
    assert error.term == "input batch"
    assert "non-finite input batch: 1 of 256 values" in error.cause
    assert "step 4" in str(error)
    assert trainer.n_training_steps == 4  # steps 0-3 ran, step 4 did not
    assert all(torch.isfinite(p).all() for p in trainer.sae.parameters())


def test_nan_at_step_n_leaves_the_last_good_checkpoint_newest(tmp_path) -> None:
    # 12 steps of 32, 3 checkpoints (past 96, 192, 288 samples: after steps 3,
    # 6 and 9); NaN batch at step 7
    trainer = tiny_trainer(
        batches(nan_at=7), n_steps=12, checkpoint_path=tmp_path, n_checkpoints=3
    )
    with pytest.raises(NonFiniteTrainingError, match="step 7"):
        trainer.fit()
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["128", "224"]  # after 4 and 7 batches of 32; nothing hidden left
    newest = _newest_checkpoint(tmp_path)
    assert newest is not None
    state = torch.load(newest / "trainer_state.pt")
    assert state["n_training_steps"] == 6
    weights = load_file(newest / "sae_weights.safetensors")
    assert all(torch.isfinite(t).all() for t in weights.values())


def test_skip_non_finite_batches_counts_them() -> None:
    def two_bad():
        for i, batch in enumerate(batches()):
            if i in (2, 5):
                batch[0, 0] = float("nan")
            yield batch

    trainer = tiny_trainer(two_bad(), n_steps=8, skip_non_finite_batches=True)
    sae = trainer.fit()
    assert trainer.skipped_batches == 2
    assert trainer.n_training_steps == 8
    assert all(torch.isfinite(p).all() for p in sae.parameters())


def test_skip_gives_up_on_a_stream_of_bad_batches() -> None:
    def all_bad():
        for batch in batches():
            batch[0, 0] = float("nan")
            yield batch

    trainer = tiny_trainer(all_bad(), n_steps=4, skip_non_finite_batches=True)
    with pytest.raises(NonFiniteTrainingError, match="101 such batches in a row"):
        trainer.fit()


def test_useless_coefficient_is_refused_by_the_config() -> None:
    with pytest.raises(ValueError, match=r"l0_coefficient must be at most 10000"):
        tiny_sae(l0_coefficient=1e300)


def test_runaway_coefficient_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    trainer = tiny_trainer(batches())
    monkeypatch.setattr(trainer, "get_coefficients", lambda: {"l0": 1e300})
    with pytest.raises(NonFiniteTrainingError) as exc:
        trainer.fit()
    assert exc.value.step == 0
    assert exc.value.term == "loss term 'l0_loss'"
    assert "runaway coefficient {'l0': 1e+300}" in exc.value.cause


def test_huge_learning_rate_is_an_exploding_parameter() -> None:
    trainer = tiny_trainer(batches(), n_steps=50, lr=1e6)
    with pytest.raises(NonFiniteTrainingError) as exc:
        trainer.fit()
    assert "exploding parameter" in exc.value.cause
    assert "lower the learning rate" in exc.value.cause


def test_huge_input_is_reported_with_its_size() -> None:
    def huge():
        for batch in batches():
            yield batch * 1e30

    trainer = tiny_trainer(huge(), n_steps=5)
    with pytest.raises(NonFiniteTrainingError) as exc:
        trainer.fit()
    assert exc.value.step == 0
    assert "largest |x|" in exc.value.cause and "e+30" in exc.value.cause


def test_no_nan_file_is_written_by_the_runner(tinystories_model, tmp_path) -> None:
    """NaN injected into the activation stream at step 3 of a real run."""
    from sae_lens_signaware.training import SignAwareTrainingRunner
    from tests.runner_configs import runner_cfg

    class NanAtStep3(SignAwareTrainingRunner):
        def build_trainer(self, data_provider):  # type: ignore[no-untyped-def]
            def stream():
                # 2 batches estimate the norm, then batch 2 + k is step k
                for i, batch in enumerate(data_provider):
                    if i == 2 + 3:
                        batch = batch.clone()
                        batch[0, 0] = float("nan")
                    yield batch

            return super().build_trainer(stream())

    cfg = runner_cfg(tmp_path, tokens=8192, n_checkpoints=3)
    runner = NanAtStep3(cfg, override_model=tinystories_model)
    with pytest.raises(NonFiniteTrainingError) as exc:
        runner.run()
    assert exc.value.step == 3 and exc.value.term == "input batch"
    out = tmp_path / "out"
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]
    assert cfg.checkpoint_path is not None
    ckpt = Path(cfg.checkpoint_path)
    saved = sorted(p.name for p in ckpt.iterdir())
    assert saved == ["3072"]  # the checkpoint after step 2; none after step 3
    weights = load_file(ckpt / "3072" / "sae_weights.safetensors")
    assert all(torch.isfinite(t).all() for t in weights.values())
    assert json.loads((ckpt / "3072" / "cfg.json").read_text())["d_sae"] == 512


def test_running_out_of_data_names_the_step() -> None:
    from itertools import islice

    from sae_lens_signaware.training.guards import DataExhaustedError

    trainer = tiny_trainer(islice(batches(), 3), n_steps=10)
    with pytest.raises(DataExhaustedError, match="ran out at step 3"):
        trainer.fit()
