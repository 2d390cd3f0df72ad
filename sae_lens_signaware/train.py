"""Train an SAE with SAELens's runner; ``python -m sae_lens_signaware.train ARGS``.

The command line is SAELens's own (``sae_lens.llm_sae_training_runner``): every
``LanguageModelSAERunnerConfig`` field is a flag, ``--architecture`` picks the
SAE config class and its fields become flags too, e.g.::

    python -m sae_lens_signaware.train --architecture sign_aware_gated \\
        --d_in 128 --d_sae 512 --model_name raincandy-u/TinyStories-656K \\
        --model_class_name AutoModelForCausalLM --hook_name model.layers.1.mlp \\
        --dataset_path ../shared/assets/datasets/tinystories \\
        --model_from_pretrained_kwargs '{"dtype": "float32"}' --log_to_wandb False

SAELens builds the ``--architecture`` choices from ``SAE_TRAINING_CLASS_REGISTRY``
when it parses, so importing this package (which registers
``"sign_aware_gated"``) before parsing is all it takes; no upstream workaround
is needed. The one addition to SAELens's ``_run_cli`` is ``check_d_in``: the SAE
width is checked against the hook before training starts.
"""

import sys
from collections.abc import Sequence
from typing import Any

from sae_lens import LanguageModelSAERunnerConfig, LanguageModelSAETrainingRunner
from sae_lens.config import HfDataset
from sae_lens.llm_sae_training_runner import _parse_cfg_args
from sae_lens.saes.sae import TrainingSAE
from transformer_lens.hook_points import HookedRootModule

import sae_lens_signaware  # noqa: F401  (registers "sign_aware_gated")
from sae_lens_signaware.checks import HookShapeError, check_d_in


def record_losses(sae: TrainingSAE[Any]) -> list[float]:
    """Append each training step's total loss to the returned list (wraps the SAE's
    ``training_forward_pass`` on this instance)."""
    losses: list[float] = []
    forward = sae.training_forward_pass

    def recording_forward(step_input: Any) -> Any:
        output = forward(step_input)
        losses.append(float(output.loss.detach()))
        return output

    sae.training_forward_pass = recording_forward  # type: ignore[method-assign]
    return losses


def build_runner(
    cfg: LanguageModelSAERunnerConfig[Any],
    override_model: HookedRootModule | None = None,
    override_dataset: HfDataset | None = None,
) -> LanguageModelSAETrainingRunner:
    """SAELens's runner, after checking that the SAE's ``d_in`` fits the hook.

    Nothing is written before the check (the runner only opens the dataset), so
    a mismatch leaves the output and checkpoint folders untouched.
    """
    runner = LanguageModelSAETrainingRunner(
        cfg, override_dataset=override_dataset, override_model=override_model
    )
    check_d_in(
        runner.model,
        cfg.hook_name,
        runner.sae.cfg.d_in,
        cfg.hook_head_index,
        cfg.model_kwargs,
    )
    return runner


def run_training(
    cfg: LanguageModelSAERunnerConfig[Any],
    override_model: HookedRootModule | None = None,
    override_dataset: HfDataset | None = None,
) -> tuple[TrainingSAE[Any], list[float]]:
    """Check, train and save (to ``cfg.output_path``); return the SAE and its step losses."""
    runner = build_runner(cfg, override_model, override_dataset)
    losses = record_losses(runner.sae)
    return runner.run(), losses


def main(args: Sequence[str] | None = None) -> None:
    """SAELens's training CLI, with the architecture registered and the hook checked."""
    cfg = _parse_cfg_args(list(sys.argv[1:] if args is None else args))
    try:
        run_training(cfg)
    except HookShapeError as e:
        sys.exit(f"error: {e}")


if __name__ == "__main__":
    main()
