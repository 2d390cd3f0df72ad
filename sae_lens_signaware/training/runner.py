"""``SignAwareTrainingRunner``: SAELens's language-model runner, training with our ``Trainer``.

It is ``LanguageModelSAETrainingRunner`` with these differences:

- the SAE's ``d_in`` is checked against the hook before anything is written
  (SAELens only notices deep inside its activation store);
- ``run`` builds ``training.trainer.Trainer`` (step callbacks, ``on_step``)
  instead of ``SAETrainer``. Upstream constructs its trainer inside ``run``
  with no seam to pass another class, so ``run`` is upstream's, with that one
  line changed (kept in step with SAELens 6.54);
- data-parallel under ``torch.distributed`` (``DataParallelRunnerMixin``:
  each rank streams its shard of the dataset, token counts are global, rank 0
  writes);
- reliability (see README, "Reliability"): ``output_path`` is checked before
  the model loads, locked, and written atomically (``outputs.OutputFolder``;
  an existing one needs ``overwrite=True``); the final SAE must be finite;
  Ctrl-C or SIGTERM stops between two steps and writes a whole progress
  checkpoint (upstream's handler fails, see ``run_trainer_with_interruption_handling``).
"""

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from sae_lens import LanguageModelSAERunnerConfig
from sae_lens.config import HfDataset
from sae_lens.saes.sae import TrainingSAE, TrainingSAEConfig
from sae_lens.training.prefetch import PrefetchingIterator
from sae_lens.training.sae_trainer import SAETrainer
from sae_lens.training.types import DataProvider
from transformer_lens.hook_points import HookedRootModule

from sae_lens_signaware.checks import check_d_in, check_run_config
from sae_lens_signaware.distributed import is_main_process
from sae_lens_signaware.models import model_not_found
from sae_lens_signaware.outputs import OutputFolder, check_output_path
from sae_lens_signaware.training.data_parallel import DataParallelRunnerMixin
from sae_lens_signaware.training.guards import check_finite_sae
from sae_lens_signaware.training.interrupts import fit_until_interrupted
from sae_lens_signaware.training.trainer import StepCallback, Trainer

logger = logging.getLogger(__name__)


class SignAwareTrainingRunner(DataParallelRunnerMixin):
    """SAELens's runner with the ``d_in`` check and ``Trainer`` (``on_step`` callbacks).

    Args:
        overwrite: replace an existing ``output_path`` (else ``OutputExistsError``).
        protect_output: write ``output_path`` atomically under a lock; False
            writes it in place (for a caller that stages the folder itself).
        skip_non_finite_batches: drop NaN/inf input batches (counted in
            ``skipped_batches``) instead of stopping.
    """

    def __init__(
        self,
        cfg: LanguageModelSAERunnerConfig[Any],
        override_dataset: HfDataset | None = None,
        override_model: HookedRootModule | None = None,
        override_sae: TrainingSAE[Any] | None = None,
        on_step: Sequence[StepCallback] = (),
        overwrite: bool = False,
        protect_output: bool = True,
        skip_non_finite_batches: bool = False,
    ) -> None:
        if cfg.output_path is not None and protect_output:
            check_output_path(cfg.output_path, overwrite)
        if cfg.checkpoint_path is not None:
            check_output_path(cfg.checkpoint_path, overwrite=True)
        check_run_config(cfg)
        try:
            super().__init__(cfg, override_dataset, override_model, override_sae)
        except OSError as error:  # hub errors name no model
            if override_model is not None or cfg.model_name in str(error):
                raise
            raise model_not_found(cfg.model_name, error) from error
        check_run_config(cfg, self.model)
        check_d_in(
            self.model,
            cfg.hook_name,
            self.sae.cfg.d_in,
            cfg.hook_head_index,
            cfg.model_kwargs,
        )
        self.on_step = list(on_step)
        self.overwrite = overwrite
        self.protect_output = protect_output
        self.skip_non_finite_batches = skip_non_finite_batches
        self.trainer: Trainer | None = None
        self._output: OutputFolder | None = None

    @property
    def skipped_batches(self) -> int:
        """Non-finite input batches dropped (``skip_non_finite_batches``)."""
        return 0 if self.trainer is None else self.trainer.skipped_batches

    def build_trainer(self, data_provider: DataProvider) -> Trainer:
        return Trainer(
            cfg=self.trainer_config(),
            sae=self.sae,
            data_provider=data_provider,
            evaluator=self.evaluator,
            save_checkpoint_fn=self.save_checkpoint,
            on_step=self.on_step,
            skip_non_finite_batches=self.skip_non_finite_batches,
        )

    def run(self) -> TrainingSAE[Any]:
        self._set_sae_metadata()
        start_wandb(self.cfg)
        data_provider: DataProvider = self.activations_store
        if self.cfg.prefetch_llm_batches:
            prefetch = self.cfg.prefetch_llm_batches
            size = 1 if isinstance(prefetch, bool) else prefetch
            data_provider = PrefetchingIterator(
                iter(self.activations_store), prefetch=size
            )
        if (
            self.cfg.output_path is not None
            and self.protect_output
            and is_main_process()  # the only rank that writes
        ):
            self._output = OutputFolder(self.cfg.output_path, self.overwrite)
            self._output.open()  # lock and staging before any training
        try:
            trainer = self.trainer = self.build_trainer(data_provider)
            if self.cfg.resume_from_checkpoint is not None:
                trainer.load_trainer_state(self.cfg.resume_from_checkpoint)
                self.sae.load_weights_from_checkpoint(self.cfg.resume_from_checkpoint)
                self.activations_store.load_from_checkpoint(
                    self.cfg.resume_from_checkpoint
                )
            self._compile_sae_if_needed()
            sae = self.run_trainer_with_interruption_handling(trainer)  # type: ignore[arg-type]
            if self.cfg.output_path is not None:
                self.save_final_sae(
                    sae=sae,
                    output_path=self.cfg.output_path,
                    log_feature_sparsity=trainer.log_feature_sparsity,
                )
            if self.cfg.logger.log_to_wandb:
                import wandb

                wandb.finish()
            if trainer.skipped_batches:
                logger.warning(
                    "skipped %d non-finite input batches", trainer.skipped_batches
                )
            return sae
        except BaseException:
            if self._output is not None:
                self._output.rollback()
            raise
        finally:
            if self._output is not None:
                self._output.close()
            if isinstance(data_provider, PrefetchingIterator):
                data_provider.close()

    def run_trainer_with_interruption_handling(
        self, trainer: SAETrainer[TrainingSAE[TrainingSAEConfig], TrainingSAEConfig]
    ) -> TrainingSAE[Any]:
        """Train; on Ctrl-C or SIGTERM stop between two steps and save progress
        (``interrupts.fit_until_interrupted``).

        Upstream's handler raises inside whatever is running and then calls the
        runner's ``save_checkpoint`` (activation-store state and runner config
        only) on a folder nobody created, so it fails (``SafetensorError: No such
        file``) and no weights or trainer state are saved. Here the signal only
        sets ``trainer.stop_request``; the trainer stops at the next step
        boundary, and the full checkpoint (the trainer's: weights, sparsity,
        trainer state, then this runner's store state and config) is written.
        """
        assert isinstance(trainer, Trainer)
        return fit_until_interrupted(trainer, self.cfg.checkpoint_path)

    def save_final_sae(
        self,
        sae: TrainingSAE[Any],
        output_path: str,
        log_feature_sparsity: torch.Tensor | None = None,
    ) -> None:
        """Upstream's save, refused for a non-finite SAE, into the staging folder
        and then renamed into place when ``output_path`` is protected."""
        check_finite_sae(sae)
        folder = self._output
        if folder is None or Path(output_path) != folder.target:
            super().save_final_sae(sae, output_path, log_feature_sparsity)
            return
        super().save_final_sae(sae, str(folder.staging), log_feature_sparsity)
        folder.publish()


def start_wandb(cfg: Any) -> None:
    """``wandb.init`` from a runner config that logs to wandb, as upstream's
    ``run`` does (the runners here mirror it)."""
    if cfg.logger.log_to_wandb:
        import wandb

        wandb.init(
            project=cfg.logger.wandb_project,
            entity=cfg.logger.wandb_entity,
            config=cfg.to_dict(),
            name=cfg.logger.run_name,
            id=cfg.logger.wandb_id,
        )


def run_training(
    cfg: LanguageModelSAERunnerConfig[Any],
    override_model: HookedRootModule | None = None,
    override_dataset: HfDataset | None = None,
    overwrite: bool = False,
    skip_non_finite_batches: bool = False,
) -> tuple[TrainingSAE[Any], list[float]]:
    """Check, train and save (to ``cfg.output_path``); return the SAE and its step losses."""
    losses: list[float] = []
    runner = SignAwareTrainingRunner(
        cfg,
        override_dataset=override_dataset,
        override_model=override_model,
        on_step=[lambda output: losses.append(float(output.loss.detach()))],
        overwrite=overwrite,
        skip_non_finite_batches=skip_non_finite_batches,
    )
    return runner.run(), losses
