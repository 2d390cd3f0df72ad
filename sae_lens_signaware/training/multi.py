"""Many SAEs from one activation stream: SAELens's ``MultiSAETrainingRunner`` with
this package's guarantees.

``train_many`` trains every SAE of a ``MultiSAETrainingRunnerConfig`` (any
architectures) on one pass of the model per batch. Around the upstream runner:

- each SAE is initialised from ``cfg.seed`` alone (``seeded_saes``), not from
  wherever the global RNG stood after the SAEs built before it, so an SAE's
  weights do not depend on which other SAEs share the run;
- each SAE trains on its own copy of its config, so the runner config (and
  its ``runner_cfg.json``) keeps what was asked for;
- the stream's shuffle is seeded with ``cfg.seed`` (upstream leaves seeding to
  its caller);
- ``d_in`` is checked against every hook before anything is written
  (upstream notices a mismatch deep inside the activation store);
- the output folder is staged and renamed into place when every SAE is
  written (``outputs.atomic_output``), an existing one is refused unless
  ``overwrite``, and no SAE with a NaN or inf is published (the SA-GSAE
  refuses to save one; every SAE is checked before the folder is renamed);
- Ctrl-C or SIGTERM stops between two steps (``MultiTrainer``, as
  ``training.trainer.Trainer`` does): the signal only sets a flag, the step
  finishes, a whole progress checkpoint is written if ``checkpoint_path`` is
  set, and ``TrainingInterrupted`` (a ``KeyboardInterrupt``) says where; the
  output folder is rolled back. Upstream's handler raises
  ``InterruptedException`` from inside whatever runs (half an optimizer step,
  half a checkpoint) and is never uninstalled;
- checkpoints are written whole (``training/checkpoints.py``), and the
  progress bar advances every step to its end, each SAE's number labelled as
  its loss (``loss[l0_4] 12.3``; upstream's ``l0_4: 12.3`` reads as an L0).
"""

import copy
import json
import logging
from pathlib import Path
from typing import Any

import torch
from sae_lens.config import SAETrainerConfig
from sae_lens.constants import RUNNER_CFG_FILENAME
from sae_lens.multi_sae_training_runner import (
    MultiSAETrainingRunner,
    MultiSAETrainingRunnerConfig,
)
from sae_lens.registry import get_sae_training_class
from sae_lens.saes.sae import TrainingSAE, TrainStepOutput
from sae_lens.training.multi_sae_trainer import (
    MultiSAEEvaluatorProtocol,
    MultiSAETrainer,
)
from sae_lens.training.prefetch import PrefetchingIterator
from sae_lens.training.sae_trainer import SaveCheckpointFn
from sae_lens.training.types import MultiHookDataProvider
from tqdm.auto import tqdm
from transformer_lens.hook_points import HookedRootModule

from sae_lens_signaware.checks import check_d_in, check_run_config
from sae_lens_signaware.outputs import atomic_output, check_output_path
from sae_lens_signaware.training.checkpoints import record_checkpoint
from sae_lens_signaware.training.guards import check_finite_sae
from sae_lens_signaware.training.interrupts import (
    StopRequest,
    TrainingInterrupted,
    fit_until_interrupted,
)
from sae_lens_signaware.training.runner import start_wandb

logger = logging.getLogger(__name__)


class MultiTrainer(MultiSAETrainer):
    """``MultiSAETrainer`` that stops between steps on request, writes whole
    checkpoints, and shows a bar that advances every step.

    ``fit`` is upstream's (kept in step with SAELens 6.54) with three changes:
    the top of each loop pass raises ``TrainingInterrupted`` if
    ``stop_request`` is set (there every per-SAE counter, optimizer and SAE
    agree, so a checkpoint taken then resumes exactly); the bar starts at the
    resumed sample count; and the bar is closed however ``fit`` ends (else
    tqdm redraws it at exit, below the command's last line).
    """

    def __init__(
        self,
        cfg: SAETrainerConfig,
        saes: dict[str, TrainingSAE[Any]],
        hook_names: dict[str, str],
        data_provider: MultiHookDataProvider,
        evaluator: MultiSAEEvaluatorProtocol | None = None,
        save_checkpoint_fn: SaveCheckpointFn | None = None,
    ) -> None:
        super().__init__(
            cfg, saes, hook_names, data_provider, evaluator, save_checkpoint_fn
        )
        self.stop_request = StopRequest()
        self.last_checkpoint: Path | None = None
        self.checkpoint_errors: list[OSError] = []

    def fit(self) -> dict[str, TrainingSAE[Any]]:
        for sae in self.saes.values():
            sae.to(self.cfg.device)
        pbar = tqdm(
            total=self.cfg.total_training_samples,
            initial=self.n_training_samples,
            desc=f"Training {len(self.saes)} SAEs",
            unit=" tokens",
        )
        try:
            self._estimate_scaling_factors()
            while self.n_training_samples < self.cfg.total_training_samples:
                if self.stop_request:  # the last step is done, counters agree
                    raise TrainingInterrupted(self.n_training_steps)
                self._maybe_log_sparsity()
                multi_batch = next(self.data_provider)
                step_outputs: dict[str, TrainStepOutput] = {}
                for name, trainer in self.trainers.items():
                    batch = multi_batch[self.hook_names[name]]
                    step_outputs[name] = trainer.step(batch)
                # every per-SAE trainer advances in lockstep
                self.n_training_samples = next(
                    iter(self.trainers.values())
                ).n_training_samples
                if self.cfg.logger.log_to_wandb:
                    self._log_train_step(step_outputs)
                    self._run_and_log_evals()
                self._checkpoint_if_needed()
                for trainer in self.trainers.values():
                    trainer.n_training_steps += 1
                self.n_training_steps += 1
                self._update_pbar(step_outputs, pbar)
            self._maybe_log_sparsity(final=True)
            self._fold_scalers()
            for trainer in self.trainers.values():
                trainer.set_final_sae_metadata()
            if self.cfg.save_final_checkpoint:
                self.save_checkpoint(checkpoint_name=f"final_{self.n_training_samples}")
        finally:
            pbar.close()
        return self.saes

    def _fold_scalers(self) -> None:
        """Fold each SAE's activation normalisation into its weights (upstream's)."""
        for name, trainer in self.trainers.items():
            scaler = trainer.activation_scaler
            if scaler.scaling_factor is not None:
                self.saes[name].fold_activation_norm_scaling_factor(
                    scaler.scaling_factor
                )
                scaler.scaling_factor = None
            if scaler.whitening is not None:
                self.saes[name].fold_activation_whitening(
                    mean=scaler.whitening.mean,
                    whitening_matrix=scaler.whitening.matrix,
                    unwhitening_matrix=scaler.whitening.inverse_matrix,
                )
                scaler.whitening = None

    def save_checkpoint(
        self, checkpoint_name: str, wandb_aliases: list[str] | None = None
    ) -> None:
        """Upstream's checkpoint (one subfolder per SAE, then the runner's files),
        written whole; a full disk is logged, not fatal."""
        base = self.cfg.checkpoint_path
        if base is None:
            super().save_checkpoint(checkpoint_name, wandb_aliases)
            return

        def save(name: str) -> None:
            super(MultiTrainer, self).save_checkpoint(name, wandb_aliases)

        record_checkpoint(self, save, base, checkpoint_name)

    @torch.no_grad()
    def _update_pbar(
        self,
        step_outputs: dict[str, TrainStepOutput],
        pbar: Any,
        update_interval: int = 100,
    ) -> None:
        """Advance the bar by every step's tokens (upstream moves it every 100
        steps, so it stopped short of its end), and every ``update_interval``
        steps, and at the end, show the step and each SAE's loss."""
        pbar.update(self.cfg.train_batch_size_samples)
        done = self.n_training_samples >= self.cfg.total_training_samples
        if self.n_training_steps % update_interval == 0 or done:
            losses = ", ".join(
                f"loss[{name}] {float(output.loss):.4g}"
                for name, output in step_outputs.items()
            )
            pbar.set_description(
                f"Training {len(self.saes)} SAEs: step {self.n_training_steps}, "
                f"{losses}"
            )


class MultiRunner(MultiSAETrainingRunner):
    """``MultiSAETrainingRunner`` training with ``MultiTrainer``, stopping cleanly
    on Ctrl-C or SIGTERM.

    Upstream builds its ``MultiSAETrainer`` inside ``run`` with no seam to pass
    another class, so ``run`` is upstream's with that one line changed (kept in
    step with SAELens 6.54); ``_run_with_interruption_handling`` is ours.
    """

    def run(self) -> dict[str, TrainingSAE[Any]]:
        self._set_sae_metadata()
        start_wandb(self.cfg)
        data_provider: MultiHookDataProvider = (
            self.activations_store.get_multi_hook_data_loader()
        )
        if self.cfg.prefetch_llm_batches:
            prefetch = self.cfg.prefetch_llm_batches
            size = 1 if isinstance(prefetch, bool) else prefetch
            data_provider = PrefetchingIterator(data_provider, prefetch=size)
        try:
            trainer = MultiTrainer(
                cfg=self.cfg.to_sae_trainer_config(),
                saes=self.saes,
                hook_names=self.cfg.hook_names_per_sae,
                data_provider=data_provider,
                evaluator=self.evaluator,
                save_checkpoint_fn=self._save_runner_checkpoint_files,
            )
            if self.cfg.resume_from_checkpoint is not None:
                logger.info(
                    "resuming from checkpoint %s", self.cfg.resume_from_checkpoint
                )
                trainer.load_checkpoint(self.cfg.resume_from_checkpoint)
                self.activations_store.load_from_checkpoint(
                    self.cfg.resume_from_checkpoint
                )
            saes = self._run_with_interruption_handling(trainer)
            if self.cfg.output_path is not None:
                self._save_final_outputs(saes, trainer)
            if self.cfg.logger.log_to_wandb:
                import wandb

                wandb.finish()
            return saes
        finally:
            if isinstance(data_provider, PrefetchingIterator):
                data_provider.close()

    def _run_with_interruption_handling(
        self, trainer: MultiSAETrainer
    ) -> dict[str, TrainingSAE[Any]]:
        """Train; on Ctrl-C or SIGTERM stop between two steps and save progress
        (``interrupts.fit_until_interrupted``): the signal only sets
        ``trainer.stop_request``; the step finishes, then the whole checkpoint
        (every SAE's weights, sparsity and trainer state, the store state, the
        runner config) is written if ``checkpoint_path`` is set."""
        assert isinstance(trainer, MultiTrainer)
        return fit_until_interrupted(trainer, self.cfg.checkpoint_path)


def seeded_saes(cfg: MultiSAETrainingRunnerConfig) -> dict[str, TrainingSAE[Any]]:
    """The training SAEs of ``cfg``, each initialised from ``cfg.seed`` alone
    (upstream builds them one after another from the global RNG), each on its
    own copy of its config (upstream shares ``cfg.saes[name]``, which training
    edits: folding the norm scaling sets ``normalize_activations="none"``)."""
    saes: dict[str, TrainingSAE[Any]] = {}
    for name, sae_cfg in cfg.saes.items():
        sae_class, _ = get_sae_training_class(sae_cfg.architecture())
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(cfg.seed)
            saes[name] = sae_class(copy.deepcopy(sae_cfg))
    return saes


def train_many(
    cfg: MultiSAETrainingRunnerConfig,
    override_model: HookedRootModule | None = None,
    overwrite: bool = False,
) -> dict[str, TrainingSAE[Any]]:
    """Check the run settings and ``d_in`` at every hook, train every SAE of
    ``cfg`` on one activation stream, and (if ``cfg.output_path``) write each to
    ``output_path/<name>``.

    On Ctrl-C or SIGTERM the run stops between two steps and raises
    ``TrainingInterrupted`` (naming the progress checkpoint, if
    ``cfg.checkpoint_path``); nothing is written to ``output_path``."""
    check_run_config(cfg, override_model)
    output = cfg.output_path
    if output is not None:
        check_output_path(output, overwrite)
    runner = MultiRunner(
        cfg, override_model=override_model, override_saes=seeded_saes(cfg)
    )
    for name, hook in cfg.hook_names_per_sae.items():
        check_d_in(
            runner.model,
            hook,
            cfg.saes[name].d_in,
            cfg.hook_head_indices_per_sae[name],
            cfg.model_kwargs,
        )
    torch.manual_seed(cfg.seed)
    if output is None:
        return _run_checked(runner)
    with atomic_output(output, overwrite=overwrite) as staging:
        cfg.output_path = str(staging)
        try:
            saes = _run_checked(runner)
        finally:
            cfg.output_path = output
        with open(staging / RUNNER_CFG_FILENAME, "w") as f:
            json.dump(cfg.to_dict(), f)  # records ``output``, not ``staging``
    return saes


def _run_checked(runner: MultiSAETrainingRunner) -> dict[str, TrainingSAE[Any]]:
    saes = runner.run()
    for sae in saes.values():
        check_finite_sae(sae)
    return saes
