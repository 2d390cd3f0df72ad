"""``Trainer``: SAELens's ``SAETrainer`` with the few things our training adds.

Every addition goes through the trainer's public seams (``step``,
``get_coefficients``), so no SAE method is wrapped or replaced:

- ``on_step`` callbacks see each step's ``TrainStepOutput`` (losses, metrics);
- ``l0_target`` drives one sparsity coefficient of an architecture that has no
  target option of its own (SAELens's Gated SAE: its ``l1``) with the same
  log-space PI controller the SA-GSAE uses (``saes/l0_controller.py``);
- ``b_dec_init="mean"`` starts ``b_dec`` at the mean of the first (scaled)
  training batch instead of SAELens's zeros.

Why the mean: Adam moves ``b_dec`` by about ``lr`` per step, so a short run
cannot learn a large data mean (layer-1 residual stream of the TinyStories
model: 7.5 in one coordinate after scaling, half of ``E||x||^2``) and spends
latents on it.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import torch
from sae_lens.config import SAETrainerConfig
from sae_lens.saes.sae import TrainingSAE, TrainStepOutput
from sae_lens.training.sae_trainer import SAETrainer, SaveCheckpointFn
from sae_lens.training.types import DataProvider

from sae_lens_signaware.saes.config import SignAwareGatedTrainingSAEConfig
from sae_lens_signaware.saes.l0_controller import observe_l0, scale_coefficients

StepCallback = Callable[[TrainStepOutput], None]
B_DEC_INITS = ("zeros", "mean")
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


class Trainer(SAETrainer[Any, Any]):
    """``SAETrainer`` plus step callbacks, an outside L0 controller and ``b_dec`` init."""

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

    @torch.no_grad()
    def get_coefficients(self) -> dict[str, float]:
        coefficients = super().get_coefficients()
        if self.l0_target is None:
            return coefficients
        names = (self.l0_target.coefficient,)
        return scale_coefficients(self.l0_controller, coefficients, names)

    def step(self, batch: torch.Tensor) -> TrainStepOutput:
        if self.n_training_steps == 0 and self.b_dec_init == "mean":
            with torch.no_grad():
                scaled = self.activation_scaler(batch.to(self.sae.device))
                self.sae.b_dec.copy_(scaled.mean(0).to(self.sae.b_dec.dtype))
        output = super().step(batch)
        if self.l0_target is not None:
            t = self.l0_target
            output.metrics["sparsity_scale"] = observe_l0(
                self.l0_controller,
                output.feature_acts,
                t.target_l0,
                t.gain,
                t.proportional,
            )
        for callback in self.on_step:
            callback(output)
        return output
