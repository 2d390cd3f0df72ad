"""SAELens's own trainers and runners never write a non-finite SA-GSAE.

The SA-GSAE guards itself (``training_forward_pass`` raises
``NonFiniteTrainingError`` for a non-finite input batch or loss; its saves
refuse NaN or inf), so the guarantee holds whichever trainer runs it, not only
this package's ``Trainer``. Each test runs one of SAELens's classes as a user
would (``SAETrainer``, ``MultiSAETrainer``, ``LanguageModelSAETrainingRunner``,
the deprecated ``SAETrainingRunner``, ``MultiSAETrainingRunner``), with
checkpoints on, and either one NaN activation at step ``NAN_STEP`` or a
diverging learning rate (``lr=1e9``: the loss overflows at step 1). Each must
stop with the error naming the step and the cause; no final SAE is written,
and every tensor of every checkpoint on disk is finite.
"""

from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import torch
from sae_lens import LanguageModelSAETrainingRunner
from sae_lens.config import SAETrainerConfig
from sae_lens.llm_sae_training_runner import SAETrainingRunner
from sae_lens.multi_sae_training_runner import MultiSAETrainingRunner
from sae_lens.training.multi_sae_trainer import MultiSAETrainer
from sae_lens.training.sae_trainer import SAETrainer
from safetensors.torch import load_file

from sae_lens_signaware.errors import NonFiniteTrainingError
from sae_lens_signaware.training.multi import seeded_saes
from sae_lens_signaware_cli.assets import DEFAULT_HOOK
from sae_lens_signaware_cli.sweep import sweep_config, sweep_entries
from tests.reliability.tiny import BATCH, batches, tiny_sae
from tests.runner_configs import runner_cfg

NAN_STEP = 3
DIVERGING_LR = 1e9
N_NORM = 2  # the runners' norm-estimate batches: batch N_NORM + k is step k
INPUT_CAUSE = "non-finite input batch: 1 of"
DIVERGED_CAUSE = "the parameters or a coefficient diverged"


def non_finite_files(root: Path) -> list[str]:
    """Every saved tensor under ``root`` (safetensors and torch files, the
    trainer state's optimizer moments included) that holds a NaN or inf."""
    bad: list[str] = []

    def visit(name: str, value: Any) -> None:
        if isinstance(value, torch.Tensor):
            if value.is_floating_point() and not torch.isfinite(value).all():
                bad.append(name)
        elif isinstance(value, dict):
            for key, item in value.items():
                visit(f"{name}[{key!r}]", item)
        elif isinstance(value, list | tuple):
            for i, item in enumerate(value):
                visit(f"{name}[{i}]", item)

    for path in sorted(root.rglob("*.safetensors")):
        visit(str(path), load_file(path))
    for path in sorted(root.rglob("*.pt")):
        visit(str(path), torch.load(path, weights_only=False))
    return bad


def checkpoints(root: Path) -> list[str]:
    """The checkpoint folders under ``root`` (those holding a trainer state),
    relative to it."""
    return sorted(
        str(p.parent.relative_to(root)) for p in root.rglob("trainer_state.pt")
    )


def assert_stopped(
    error: NonFiniteTrainingError, step: int, term: str, cause: str
) -> None:
    assert error.step == step
    assert error.term == term
    assert cause in error.cause
    assert f"training stopped at step {step}" in str(error)


# --- SAELens's trainers, tiny SAEs on random data ---------------------------


def trainer_cfg(root: Path, lr: float = 1e-3, n_steps: int = 10) -> SAETrainerConfig:
    """``n_steps`` steps of ``BATCH``, a checkpoint after every step (11 thresholds
    of ceil(320 / 11) = 30 samples: one is passed by each batch of 32)."""
    return SAETrainerConfig(
        total_training_samples=n_steps * BATCH,
        train_batch_size_samples=BATCH,
        lr=lr,
        lr_end=lr,
        n_checkpoints=n_steps,
        checkpoint_path=str(root / "ckpt"),
        dead_feature_window=1000,
        feature_sampling_window=1000,
    )


def test_sae_trainer_stops_at_a_nan_batch_and_saves_only_finite_steps(
    tmp_path: Path,
) -> None:
    trainer = SAETrainer(
        cfg=trainer_cfg(tmp_path),
        sae=tiny_sae(),
        data_provider=batches(nan_at=NAN_STEP),
    )
    with pytest.raises(NonFiniteTrainingError) as exc:
        trainer.fit()
    assert_stopped(exc.value, NAN_STEP, "input batch", INPUT_CAUSE)
    # a checkpoint after each of steps 0-2 (32, 64, 96 samples); none after
    assert checkpoints(tmp_path) == ["ckpt/32", "ckpt/64", "ckpt/96"]
    assert non_finite_files(tmp_path) == []


def test_sae_trainer_stops_a_diverging_lr_and_saves_only_finite_steps(
    tmp_path: Path,
) -> None:
    trainer = SAETrainer(
        cfg=trainer_cfg(tmp_path, lr=DIVERGING_LR),
        sae=tiny_sae(),
        data_provider=batches(),
    )
    with pytest.raises(NonFiniteTrainingError) as exc:
        trainer.fit()
    assert_stopped(exc.value, 1, "loss term 'mse_loss'", DIVERGED_CAUSE)
    assert checkpoints(tmp_path) == ["ckpt/32"]  # step 0's: huge but finite
    assert non_finite_files(tmp_path) == []


def multi_batches(nan_at: int | None = None) -> Iterator[dict[str, torch.Tensor]]:
    """Two hooks of random batches; hook ``b`` of batch ``nan_at`` holds a NaN."""
    for a, b in zip(batches(), batches(nan_at=nan_at), strict=True):
        yield {"a": a, "b": b}


def multi_trainer(root: Path, data: Iterator[Any], lr: float = 1e-3) -> Any:
    return MultiSAETrainer(
        cfg=trainer_cfg(root, lr=lr),
        saes={"first": tiny_sae(), "second": tiny_sae()},
        hook_names={"first": "a", "second": "b"},
        data_provider=data,
    )


def test_multi_sae_trainer_stops_at_a_nan_batch_and_saves_only_finite_steps(
    tmp_path: Path,
) -> None:
    trainer = multi_trainer(tmp_path, multi_batches(nan_at=NAN_STEP))
    with pytest.raises(NonFiniteTrainingError) as exc:
        trainer.fit()
    assert_stopped(exc.value, NAN_STEP, "input batch", INPUT_CAUSE)
    assert checkpoints(tmp_path) == [
        f"ckpt/{n}/{name}" for n in (32, 64, 96) for name in ("first", "second")
    ]
    assert non_finite_files(tmp_path) == []


def test_multi_sae_trainer_stops_a_diverging_lr_and_saves_only_finite_steps(
    tmp_path: Path,
) -> None:
    trainer = multi_trainer(tmp_path, multi_batches(), lr=DIVERGING_LR)
    with pytest.raises(NonFiniteTrainingError) as exc:
        trainer.fit()
    assert_stopped(exc.value, 1, "loss term 'mse_loss'", DIVERGED_CAUSE)
    assert checkpoints(tmp_path) == ["ckpt/32/first", "ckpt/32/second"]
    assert non_finite_files(tmp_path) == []


# --- SAELens's runners, the real model, 8 steps of 1024 tokens --------------


class NanAt:
    """An activation store whose batch ``index`` (0-based) holds one NaN; every
    other attribute is the store's (SAELens's runner saves its state)."""

    def __init__(self, store: Any, index: int) -> None:
        self.store = store
        self.index = index
        self.served = 0

    def __iter__(self) -> "NanAt":
        return self

    def __next__(self) -> torch.Tensor:
        batch = next(self.store)
        if self.served == self.index:
            batch = batch.clone()
            batch[0, 0] = float("nan")
        self.served += 1
        return batch

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


RUNNERS = pytest.mark.parametrize(
    "runner_class",
    [LanguageModelSAETrainingRunner, SAETrainingRunner],
    ids=["LanguageModelSAETrainingRunner", "deprecated_SAETrainingRunner"],
)


@RUNNERS
def test_lm_runner_stops_at_a_nan_batch_and_writes_no_final_sae(
    runner_class: type[LanguageModelSAETrainingRunner],
    tinystories_model: Any,
    tmp_path: Path,
) -> None:
    cfg = runner_cfg(tmp_path, n_checkpoints=3)  # after steps 2, 4, 6
    runner = runner_class(cfg, override_model=tinystories_model)
    runner.activations_store = NanAt(runner.activations_store, N_NORM + NAN_STEP)  # type: ignore[assignment]
    with pytest.raises(NonFiniteTrainingError) as exc:
        runner.run()
    assert_stopped(exc.value, NAN_STEP, "input batch", INPUT_CAUSE)
    assert not (tmp_path / "out").exists()
    saved = checkpoints(tmp_path)
    assert [Path(p).name for p in saved] == ["3072"]  # after step 2; none after 3
    assert non_finite_files(tmp_path) == []


@RUNNERS
def test_lm_runner_stops_a_diverging_lr_and_writes_no_final_sae(
    runner_class: type[LanguageModelSAETrainingRunner],
    tinystories_model: Any,
    tmp_path: Path,
) -> None:
    # 8 checkpoints of 8 steps: thresholds every 911 samples, one after step 0
    cfg = runner_cfg(tmp_path, n_checkpoints=8, lr=DIVERGING_LR)
    runner = runner_class(cfg, override_model=tinystories_model)
    with pytest.raises(NonFiniteTrainingError) as exc:
        runner.run()
    assert_stopped(exc.value, 1, "loss term 'mse_loss'", DIVERGED_CAUSE)
    assert not (tmp_path / "out").exists()
    assert [Path(p).name for p in checkpoints(tmp_path)] == ["1024"]
    assert non_finite_files(tmp_path) == []


def multi_runner(
    tmp_path: Path, model: Any, lr: float = 1e-3, n_checkpoints: int = 3
) -> MultiSAETrainingRunner:
    """SAELens's runner of two SA-GSAEs at one hook, 8 steps of 1024 tokens."""
    cfg = sweep_config(
        sweep_entries([4, 16], [128]),
        {DEFAULT_HOOK: 128},
        tokens=8 * 1024,
        lr=lr,
        output=tmp_path / "out",
    )
    cfg = replace(
        cfg,
        n_batches_for_norm_estimate=N_NORM,
        checkpoint_path=str(tmp_path / "ckpt"),
        n_checkpoints=n_checkpoints,
    )
    return MultiSAETrainingRunner(
        cfg, override_model=model, override_saes=seeded_saes(cfg)
    )


def nan_in_hook_stream(
    runner: MultiSAETrainingRunner, index: int
) -> Callable[[], Iterator[dict[str, torch.Tensor]]]:
    """The store's multi-hook loader, with one NaN in multi-batch ``index``."""
    loader = runner.activations_store.get_multi_hook_data_loader

    def with_nan() -> Iterator[dict[str, torch.Tensor]]:
        for i, multi_batch in enumerate(loader()):
            if i == index:
                bad = multi_batch[DEFAULT_HOOK].clone()
                bad[0, 0] = float("nan")
                multi_batch = {**multi_batch, DEFAULT_HOOK: bad}
            yield multi_batch

    return with_nan


def test_multi_runner_stops_at_a_nan_batch_and_writes_no_final_sae(
    tinystories_model: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = multi_runner(tmp_path, tinystories_model)
    monkeypatch.setattr(
        runner.activations_store,
        "get_multi_hook_data_loader",
        nan_in_hook_stream(runner, N_NORM + NAN_STEP),
    )
    with pytest.raises(NonFiniteTrainingError) as exc:
        runner.run()
    assert_stopped(exc.value, NAN_STEP, "input batch", INPUT_CAUSE)
    assert not (tmp_path / "out").exists()
    saved = {Path(p).parts[-2:] for p in checkpoints(tmp_path)}
    assert saved == {("3072", "l0_4"), ("3072", "l0_16")}  # after step 2 only
    assert non_finite_files(tmp_path) == []


def test_multi_runner_stops_a_diverging_lr_and_writes_no_final_sae(
    tinystories_model: Any, tmp_path: Path
) -> None:
    runner = multi_runner(tmp_path, tinystories_model, lr=DIVERGING_LR, n_checkpoints=8)
    with pytest.raises(NonFiniteTrainingError) as exc:
        runner.run()
    assert_stopped(exc.value, 1, "loss term 'mse_loss'", DIVERGED_CAUSE)
    assert not (tmp_path / "out").exists()
    saved = {Path(p).parts[-2:] for p in checkpoints(tmp_path)}
    assert saved == {("1024", "l0_4"), ("1024", "l0_16")}  # step 0's: finite
    assert non_finite_files(tmp_path) == []
