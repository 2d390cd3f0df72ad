"""``SignAwareTrainingRunner``: SAELens's language-model runner, training with our ``Trainer``.

It is ``LanguageModelSAETrainingRunner`` with two differences:

- the SAE's ``d_in`` is checked against the hook before anything is written
  (SAELens only notices deep inside its activation store);
- ``run`` builds ``training.trainer.Trainer`` (step callbacks, ``on_step``)
  instead of ``SAETrainer``. Upstream constructs its trainer inside ``run``
  with no seam to pass another class, so ``run`` is upstream's, with that one
  line changed (kept in step with SAELens 6.54).
"""

from collections.abc import Sequence
from typing import Any

from sae_lens import LanguageModelSAERunnerConfig, LanguageModelSAETrainingRunner
from sae_lens.config import HfDataset
from sae_lens.saes.sae import TrainingSAE
from sae_lens.training.prefetch import PrefetchingIterator
from sae_lens.training.types import DataProvider
from transformer_lens.hook_points import HookedRootModule

from sae_lens_signaware.checks import check_d_in
from sae_lens_signaware.training.trainer import StepCallback, Trainer


class SignAwareTrainingRunner(LanguageModelSAETrainingRunner):
    """SAELens's runner with the ``d_in`` check and ``Trainer`` (``on_step`` callbacks)."""

    def __init__(
        self,
        cfg: LanguageModelSAERunnerConfig[Any],
        override_dataset: HfDataset | None = None,
        override_model: HookedRootModule | None = None,
        override_sae: TrainingSAE[Any] | None = None,
        on_step: Sequence[StepCallback] = (),
    ) -> None:
        super().__init__(cfg, override_dataset, override_model, override_sae)
        check_d_in(
            self.model,
            cfg.hook_name,
            self.sae.cfg.d_in,
            cfg.hook_head_index,
            cfg.model_kwargs,
        )
        self.on_step = list(on_step)

    def build_trainer(self, data_provider: DataProvider) -> Trainer:
        return Trainer(
            cfg=self.cfg.to_sae_trainer_config(),
            sae=self.sae,
            data_provider=data_provider,
            evaluator=self.evaluator,
            save_checkpoint_fn=self.save_checkpoint,
            on_step=self.on_step,
        )

    def run(self) -> TrainingSAE[Any]:
        self._set_sae_metadata()
        if self.cfg.logger.log_to_wandb:
            import wandb

            wandb.init(
                project=self.cfg.logger.wandb_project,
                entity=self.cfg.logger.wandb_entity,
                config=self.cfg.to_dict(),
                name=self.cfg.logger.run_name,
                id=self.cfg.logger.wandb_id,
            )
        data_provider: DataProvider = self.activations_store
        if self.cfg.prefetch_llm_batches:
            prefetch = self.cfg.prefetch_llm_batches
            size = 1 if isinstance(prefetch, bool) else prefetch
            data_provider = PrefetchingIterator(
                iter(self.activations_store), prefetch=size
            )
        try:
            trainer = self.build_trainer(data_provider)
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
            return sae
        finally:
            if isinstance(data_provider, PrefetchingIterator):
                data_provider.close()


def run_training(
    cfg: LanguageModelSAERunnerConfig[Any],
    override_model: HookedRootModule | None = None,
    override_dataset: HfDataset | None = None,
) -> tuple[TrainingSAE[Any], list[float]]:
    """Check, train and save (to ``cfg.output_path``); return the SAE and its step losses."""
    losses: list[float] = []
    runner = SignAwareTrainingRunner(
        cfg,
        override_dataset=override_dataset,
        override_model=override_model,
        on_step=[lambda output: losses.append(float(output.loss.detach()))],
    )
    return runner.run(), losses
