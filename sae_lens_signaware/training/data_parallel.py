"""Data-parallel training: what ``Trainer`` does differently under ``torch.distributed``.

Each rank trains the same SAE on its own shard of every global batch. With
``N`` ranks and per-rank batches ``B`` (global batch ``N B``), one step is:

- forward and backward on the rank's batch (losses are means over the batch);
- gradients averaged over ranks (``all_reduce``, as ``DistributedDataParallel``
  does), so every rank holds the gradient of the global-batch loss, then
  SAELens's clipping and Adam step, identical on every rank;
- the firing counts behind the dead-latent mask and the feature sparsity summed
  over ranks, so threshold resets and the saved sparsity are global.

Before training, rank 0's parameters are broadcast, and the norm-scaling factor
is estimated from every rank's batches (the mean norm over all of them). The
SA-GSAE's own global statistics (its ``target_l0`` controller's batch L0, its
first-step threshold initialisation) reduce themselves through
``sae_lens_signaware.distributed``. Only rank 0 writes checkpoints, named by
the global sample count. The trainer state saves the global sample count, so a
run resumes with any number of ranks.

``DataParallelRunnerMixin`` does the same for SAELens's language-model runner:
each rank streams its own shard of the dataset (``split_dataset_by_node``) and
runs the model on it; token counts in the config are global.

Alone (no process group, or one rank) every method is SAELens's own.
"""

import copy
import json
import math
from pathlib import Path
from typing import Any

import torch
from datasets import load_dataset
from datasets.distributed import split_dataset_by_node
from sae_lens import LanguageModelSAERunnerConfig, LanguageModelSAETrainingRunner
from sae_lens.config import HfDataset
from sae_lens.constants import RUNNER_CFG_FILENAME
from sae_lens.saes.sae import TrainingSAE, TrainStepInput, TrainStepOutput
from sae_lens.training.sae_trainer import SAETrainer
from transformer_lens.hook_points import HookedRootModule

from sae_lens_signaware.distributed import (
    all_reduce_,
    average_gradients_,
    barrier,
    broadcast_,
    is_distributed,
    is_main_process,
    rank,
    world_size,
)


class DataParallelMixin(SAETrainer[Any, Any]):
    """Overrides of ``SAETrainer`` for data-parallel training (see module docstring)."""

    def sync_initial_state(self) -> None:
        """Every rank starts from rank 0's parameters and buffers."""
        broadcast_([*self.sae.parameters(), *self.sae.buffers()])

    def fit(self) -> Any:
        if is_distributed():
            self._estimate_global_scaling_factor()
        return super().fit()

    @torch.no_grad()
    def _estimate_global_scaling_factor(self) -> None:
        mode = self.sae.cfg.normalize_activations
        if mode == "covariance_whitening":
            raise NotImplementedError(
                "normalize_activations='covariance_whitening' is not supported in "
                "data-parallel training yet; use 'expected_average_only_in' or 'none'"
            )
        if mode != "expected_average_only_in" or self.activation_scaler.scaling_factor:
            return
        totals = torch.zeros(2, dtype=torch.float64)
        for _ in range(self.cfg.n_batches_for_norm_estimate):
            norms = next(self.data_provider).norm(dim=-1)
            totals[0] += norms.double().sum().item()
            totals[1] += norms.numel()
        all_reduce_(totals, "sum")
        mean_norm = float(totals[0] / totals[1])
        self.activation_scaler.scaling_factor = math.sqrt(self.sae.cfg.d_in) / mean_norm

    def _train_step(
        self, sae: TrainingSAE[Any], sae_in: torch.Tensor
    ) -> TrainStepOutput:
        if not is_distributed():
            return super()._train_step(sae, sae_in)
        sae.train()
        with self.autocast_if_enabled:
            output = self.sae.training_forward_pass(step_input=self._step_input(sae_in))
            with torch.no_grad():
                fired = output.feature_acts.bool().float().sum(0)
                if fired.is_sparse:
                    fired = fired.to_dense()
                all_reduce_(fired, "sum")
                self.n_forward_passes_since_fired += 1
                self.n_forward_passes_since_fired[fired > 0] = 0
                self.act_freq_scores += fired
                self.n_frac_active_samples += (
                    self.cfg.train_batch_size_samples * world_size()
                )
        output.loss.backward()
        average_gradients_(sae.parameters())
        torch.nn.utils.clip_grad_norm_(sae.parameters(), 1.0)
        self.optimizer.step()
        self.optimizer.zero_grad()
        self.lr_scheduler.step()
        for scheduler in self.coefficient_schedulers.values():
            scheduler.step()
        return output

    def _step_input(self, sae_in: torch.Tensor) -> TrainStepInput:
        return TrainStepInput(
            sae_in=sae_in,
            dead_neuron_mask=self.dead_neurons,
            coefficients=self.get_coefficients(),
            n_training_steps=self.n_training_steps,
            is_logging_step=self._is_logging_step(),
        )

    def save_checkpoint(
        self,
        checkpoint_name: str,
        base_path: Path | str | None = None,
        wandb_aliases: list[str] | None = None,
    ) -> None:
        if is_main_process():
            super().save_checkpoint(checkpoint_name, base_path, wandb_aliases)

    def save_trainer_state(self, checkpoint_path: Path) -> None:
        local: int = self.n_training_samples  # type: ignore[has-type]
        self.n_training_samples = local * world_size()  # saved as a global count
        try:
            super().save_trainer_state(checkpoint_path)
        finally:
            self.n_training_samples = local

    def load_trainer_state(self, checkpoint_path: Path | str) -> None:
        super().load_trainer_state(checkpoint_path)
        self.n_training_samples = int(self.n_training_samples) // world_size()


def global_checkpoint_name(name: str, local_samples: int) -> str:
    """``name`` with this rank's sample count ``local_samples`` (SAELens names
    checkpoints ``"<n>"`` and ``"final_<n>"``) replaced by the global count,
    ``local_samples * world_size()``; any other name as it is."""
    count = str(local_samples)
    for prefix in ("", "final_"):
        if name == prefix + count:
            return f"{prefix}{local_samples * world_size()}"
    return name


def rank_config(
    cfg: LanguageModelSAERunnerConfig[Any],
) -> LanguageModelSAERunnerConfig[Any]:
    """``cfg`` with this rank's share of the tokens: ``training_tokens`` and
    ``train_batch_size_tokens`` are global, each rank trains on ``1/N`` of both."""
    n = world_size()
    if n == 1:
        return cfg
    for name in ("train_batch_size_tokens", "training_tokens"):
        value = getattr(cfg, name)
        if value % n:
            raise ValueError(
                f"LanguageModelSAERunnerConfig.{name}={value} must be a multiple of the "
                f"number of ranks ({n}): it is the global count, split across ranks"
            )
    local = copy.copy(cfg)
    local.train_batch_size_tokens = cfg.train_batch_size_tokens // n
    local.training_tokens = cfg.training_tokens // n
    return local


def rank_dataset(
    cfg: LanguageModelSAERunnerConfig[Any], dataset: HfDataset | None
) -> HfDataset | None:
    """This rank's shard of the training text (``split_dataset_by_node``); the
    dataset is loaded as SAELens's activation store loads ``cfg.dataset_path``."""
    if not is_distributed():
        return dataset
    if dataset is None:
        dataset = load_dataset(
            cfg.dataset_path,
            split="train",
            streaming=cfg.streaming,
            trust_remote_code=cfg.dataset_trust_remote_code,
        )
    return split_dataset_by_node(dataset, rank=rank(), world_size=world_size())  # type: ignore[arg-type,type-var]


class DataParallelRunnerMixin(LanguageModelSAETrainingRunner):
    """SAELens's runner, data-parallel under ``torch.distributed``.

    Each rank streams its own shard of the dataset and runs the model on it;
    ``cfg`` keeps the global token counts (saved as given, with
    ``"world_size": N``) and the trainer gets this rank's share (``rank_config``).
    Only rank 0 writes the final SAE and the runner's checkpoint files.
    """

    def __init__(
        self,
        cfg: LanguageModelSAERunnerConfig[Any],
        override_dataset: HfDataset | None = None,
        override_model: HookedRootModule | None = None,
        override_sae: TrainingSAE[Any] | None = None,
    ) -> None:
        self.rank_cfg = rank_config(cfg)
        dataset = rank_dataset(cfg, override_dataset)
        super().__init__(self.rank_cfg, dataset, override_model, override_sae)
        self.cfg = cfg

    def trainer_config(self) -> Any:
        """The ``SAETrainerConfig`` of this rank (its share of the tokens)."""
        return self.rank_cfg.to_sae_trainer_config()

    def _set_sae_metadata(self) -> None:
        super()._set_sae_metadata()
        self.sae.cfg.metadata.world_size = world_size()

    def save_final_sae(
        self,
        sae: TrainingSAE[Any],
        output_path: str,
        log_feature_sparsity: torch.Tensor | None = None,
    ) -> None:
        if is_main_process():
            super().save_final_sae(sae, output_path, log_feature_sparsity)
            _record_world_size(Path(output_path) / RUNNER_CFG_FILENAME)
        barrier()

    def save_checkpoint(self, checkpoint_path: Path | None) -> None:
        if checkpoint_path is not None and is_main_process():
            super().save_checkpoint(checkpoint_path)
            _record_world_size(checkpoint_path / RUNNER_CFG_FILENAME)


def _record_world_size(runner_cfg_path: Path) -> None:
    """Add ``"world_size"`` to a saved runner config (the training config)."""
    if runner_cfg_path.is_file():
        saved = json.loads(runner_cfg_path.read_text())
        saved["world_size"] = world_size()
        runner_cfg_path.write_text(json.dumps(saved))
