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
``sae-lens<7`` in pyproject.toml). Two flags are ours, taken out before
SAELens parses: ``--overwrite`` (replace an existing ``--output_path``) and
``--skip_non_finite_batches`` (drop NaN/inf input batches instead of
stopping). Bad values, an existing or unwritable output, a missing model, NaN
training and Ctrl-C end with one ``error:``/``interrupted:`` line.

Under ``torchrun --nproc_per_node N -m sae_lens_signaware.train ARGS`` the same
command trains one SAE data-parallel over ``N`` processes (gloo on CPU, NCCL on
CUDA; ``training/data_parallel.py``): ``--training_tokens`` and
``--train_batch_size_tokens`` are global counts, each rank reads its own shard
of the dataset, and rank 0 writes the outputs.
"""

import sys
from collections.abc import Sequence

from sae_lens.llm_sae_training_runner import _parse_cfg_args

import sae_lens_signaware  # noqa: F401  (registers "sign_aware_gated")
from sae_lens_signaware.distributed import init_from_env
from sae_lens_signaware.training.runner import run_training
from sae_lens_signaware.user_errors import report_user_errors

#: our flags (store-true), removed before SAELens's parser sees the arguments
OUR_FLAGS = ("--overwrite", "--skip_non_finite_batches")


def split_our_flags(args: Sequence[str]) -> tuple[list[str], dict[str, bool]]:
    """``args`` without ``OUR_FLAGS``, and which of them were given."""
    given = {flag.lstrip("-"): flag in args for flag in OUR_FLAGS}
    return [a for a in args if a not in OUR_FLAGS], given


def main(args: Sequence[str] | None = None) -> None:
    """SAELens's training CLI, with the architecture registered and the hook checked."""
    rest, flags = split_our_flags(list(sys.argv[1:] if args is None else args))
    with report_user_errors():
        cfg = _parse_cfg_args(rest)
    init_from_env()  # a process group when started by torchrun
    with report_user_errors():
        run_training(cfg, **flags)


if __name__ == "__main__":
    main()
