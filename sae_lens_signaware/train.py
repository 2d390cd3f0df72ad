"""Train an SAE with SAELens's command line; ``python -m sae_lens_signaware.train ARGS``.

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
``"sign_aware_gated"``) before parsing is all it takes. Training runs through
``training.runner.SignAwareTrainingRunner`` (SAELens's runner plus the ``d_in``
check). The parser is SAELens's private ``_parse_cfg_args`` (hence
``sae-lens<7`` in pyproject.toml).
"""

import sys
from collections.abc import Sequence

from sae_lens.llm_sae_training_runner import _parse_cfg_args

import sae_lens_signaware  # noqa: F401  (registers "sign_aware_gated")
from sae_lens_signaware.checks import HookShapeError
from sae_lens_signaware.training.runner import run_training


def main(args: Sequence[str] | None = None) -> None:
    """SAELens's training CLI, with the architecture registered and the hook checked."""
    cfg = _parse_cfg_args(list(sys.argv[1:] if args is None else args))
    try:
        run_training(cfg)
    except HookShapeError as e:
        sys.exit(f"error: {e}")


if __name__ == "__main__":
    main()
