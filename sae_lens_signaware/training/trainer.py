"""``Trainer``: SAELens's ``SAETrainer`` with the few things our training adds.

Every addition goes through the trainer's public seams (``step``,
``get_coefficients``), so no SAE method is wrapped or replaced:

- ``on_step`` callbacks see each step's ``TrainStepOutput`` (losses, metrics);
- ``l0_target`` drives one sparsity coefficient of an architecture that has no
  target option of its own (SAELens's Gated SAE: its ``l1``) with the same
  log-space PI controller the SA-GSAE uses (``saes/l0_controller.py``);
- ``b_dec_init="mean"`` starts ``b_dec`` at the mean of the first (scaled)
  training batch instead of SAELens's zeros;
- reliability: non-finite batches, losses and parameters stop the run
  (``training/guards.py``; ``skip_non_finite_batches`` drops and counts bad
  batches), a stop request (Ctrl-C, SIGTERM) ends it between two steps
  (``training/interrupts.py``), and checkpoints are written whole, a failed
  write logged without ending the run (``training/checkpoints.py``).

Why the mean: Adam moves ``b_dec`` by about ``lr`` per step, so a short run
cannot learn a large data mean (layer-1 residual stream of the TinyStories
model: 7.5 in one coordinate after scaling, half of ``E||x||^2``) and spends
latents on it.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch
from sae_lens.config import SAETrainerConfig
from sae_lens.saes.sae import TrainingSAE, TrainStepOutput
from sae_lens.training.sae_trainer import SaveCheckpointFn
from sae_lens.training.types import DataProvider

from sae_lens_signaware.distributed import all_reduce_, any_rank, is_main_process
from sae_lens_signaware.errors import NonFiniteTrainingError
from sae_lens_signaware.saes.config import SignAwareGatedTrainingSAEConfig
from sae_lens_signaware.saes.l0_controller import observe_l0, scale_coefficients
from sae_lens_signaware.training.checkpoints import record_checkpoint
from sae_lens_signaware.training.data_parallel import (
    DataParallelMixin,
    global_checkpoint_name,
)
from sae_lens_signaware.training.guards import FiniteBatches, FiniteGuard
from sae_lens_signaware.training.interrupts import StopRequest, TrainingInterrupted

StepCallback = Callable[[TrainStepOutput], None]
B_DEC_INITS = ("zeros", "mean")
L0_TARGET_STATE_FILENAME = "l0_target_controller.pt"
BDecInit = Literal["zeros", "mean"]


@dataclass(frozen=True)
class L0Target:
    """Drive ``coefficient`` so the training L0 settles on ``target_l0``."""

    coefficient: str
    target_l0: float
    gain: float = SignAwareGatedTrainingSAEConfig.target_l0_gain
    proportional: float = SignAwareGatedTrainingSAEConfig.target_l0_proportional

    def __post_init__(self) -> None:
        if not self.target_l0 > 0:
            raise ValueError(f"L0Target.target_l0 must be > 0, got {self.target_l0}")


class Trainer(DataParallelMixin):
    """``SAETrainer`` plus step callbacks, an outside L0 controller and ``b_dec`` init;
    data-parallel under ``torch.distributed`` (``training/data_parallel.py``)."""

    def __init__(
        self,
        cfg: SAETrainerConfig,
        sae: TrainingSAE[Any],
        data_provider: DataProvider,
        evaluator: Any = None,
        save_checkpoint_fn: SaveCheckpointFn | None = None,
        on_step: Sequence[StepCallback] = (),
        l0_target: L0Target | None = None,
        b_dec_init: BDecInit = "zeros",
        skip_non_finite_batches: bool = False,
    ) -> None:
        if b_dec_init not in B_DEC_INITS:
            raise ValueError(
                f"b_dec_init must be one of {B_DEC_INITS}, got {b_dec_init!r}"
            )
        super().__init__(cfg, sae, data_provider, evaluator, save_checkpoint_fn)
        if (
            l0_target is not None
            and l0_target.coefficient not in self.coefficient_schedulers
        ):
            raise ValueError(
                f"L0Target.coefficient {l0_target.coefficient!r} is not a coefficient "
                f"of {type(sae).__name__} (it has {sorted(self.coefficient_schedulers)})"
            )
        self.on_step = list(on_step)
        self.l0_target = l0_target
        #: ``[integral, log_scale]`` of the outside controller (see l0_controller.py)
        self.l0_controller = torch.zeros(2)
        self.b_dec_init = b_dec_init
        self.sync_initial_state()
        # reliability (training/guards.py, interrupts.py, checkpoints.py)
        self.finite_batches = FiniteBatches(
            data_provider, lambda: self.n_training_steps, skip_non_finite_batches
        )
        self.data_provider = self.finite_batches
        self.finite_guard = FiniteGuard(sae)
        self.stop_request = StopRequest()
        self.last_checkpoint: Path | None = None
        self.checkpoint_errors: list[OSError] = []
        self._pbar: Any = None  # the bar of fit(), once a step has shown it

    def fit(self) -> Any:
        try:
            return super().fit()
        except BaseException:
            # an interrupt or error: close the bar now, else tqdm redraws it at
            # exit, below the command's last line (``interrupted: ...``)
            if self._pbar is not None:
                self._pbar.close()
            raise

    def save_trainer_state(self, checkpoint_path: Path) -> None:
        super().save_trainer_state(checkpoint_path)
        if self.l0_target is not None:  # the outside controller resumes too
            torch.save(self.l0_controller, checkpoint_path / L0_TARGET_STATE_FILENAME)

    def load_trainer_state(self, checkpoint_path: Path | str) -> None:
        super().load_trainer_state(checkpoint_path)
        state = Path(checkpoint_path) / L0_TARGET_STATE_FILENAME
        if self.l0_target is not None and state.exists():
            self.l0_controller = torch.load(state)

    @property
    def skipped_batches(self) -> int:
        """Non-finite input batches dropped (``skip_non_finite_batches``)."""
        return self.finite_batches.skipped

    def maybe_reset_sparsity(self) -> dict[str, Any]:
        # first call of each loop pass: every counter agrees, so stop here if asked
        if any_rank(bool(self.stop_request)):  # all ranks stop at the same step
            raise TrainingInterrupted(self.n_training_steps)
        return super().maybe_reset_sparsity()

    def save_checkpoint(
        self,
        checkpoint_name: str,
        base_path: Path | str | None = None,
        wandb_aliases: list[str] | None = None,
    ) -> None:
        """SAELens's checkpoint, written whole (a full disk is logged, not fatal);
        a name that counts samples (SAELens's ``"<n>"``, ``"final_<n>"``) counts
        those of every rank."""
        if not is_main_process():  # rank 0 writes for every rank
            return
        checkpoint_name = global_checkpoint_name(
            checkpoint_name,
            self.n_training_samples,  # type: ignore[has-type]
        )
        base = base_path if base_path is not None else self.cfg.checkpoint_path
        if base is None:
            super().save_checkpoint(checkpoint_name, base_path, wandb_aliases)
            return

        def save(name: str) -> None:
            super(Trainer, self).save_checkpoint(name, base, wandb_aliases)

        record_checkpoint(self, save, base, checkpoint_name)

    @torch.no_grad()
    def get_coefficients(self) -> dict[str, float]:
        coefficients = super().get_coefficients()
        if self.l0_target is None:
            return coefficients
        names = (self.l0_target.coefficient,)
        return scale_coefficients(self.l0_controller, coefficients, names)

    @torch.no_grad()
    def _update_pbar(
        self,
        step_output: TrainStepOutput,
        pbar: Any,
        update_interval: int = 100,
    ) -> None:
        """Advance the bar by every step's tokens (upstream moves it every 100
        steps, so it stopped short of its end), and every ``update_interval``
        steps, and at the end, show the step and the losses."""
        self._pbar = pbar
        pbar.unit = " tokens"
        pbar.update(self.cfg.train_batch_size_samples)
        done = self.n_training_samples >= self.cfg.total_training_samples
        if self.n_training_steps % update_interval == 0 or done:
            losses = ", ".join(
                f"{name} {float(value):.4g}"
                for name, value in step_output.losses.items()
            )
            pbar.set_description(
                f"Training SAE: step {self.n_training_steps}, {losses}"
            )

    def step(self, batch: torch.Tensor) -> TrainStepOutput:
        if self.n_training_steps == 0 and self.b_dec_init == "mean":
            with torch.no_grad():
                scaled = self.activation_scaler(batch.to(self.sae.device))
                mean = all_reduce_(scaled.mean(0), "mean")  # the global batch's mean
                self.sae.b_dec.copy_(mean.to(self.sae.b_dec.dtype))
        try:
            output = super().step(batch)
        except NonFiniteTrainingError as error:  # raised by the SAE's own guard
            if error.term == "input batch":
                raise
            scaled = self.activation_scaler(batch.to(self.sae.device))
            raise self.finite_guard.explain(
                self.n_training_steps, error.term, scaled, self.get_coefficients()
            ) from None
        self.finite_guard.check(output, self.n_training_steps, self.get_coefficients())
        if self.l0_target is not None:
            t = self.l0_target
            output.metrics["sparsity_scale"] = observe_l0(
                self.l0_controller,
                output.feature_acts,
                t.target_l0,
                t.gain,
                t.proportional,
            )
        try:
            for callback in self.on_step:
                callback(output)
        except KeyboardInterrupt:
            self.stop_request.request()  # the step is done: stop after it
        return output
