"""``sae-signaware train ARGS``: SAELens's training command line, with the
architecture registered.

The command line is SAELens's own (``sae_lens.llm_sae_training_runner``): every
``LanguageModelSAERunnerConfig`` field is a flag, ``--architecture`` picks the
SAE config class and its fields become flags too, e.g.::

    sae-signaware train --architecture sign_aware_gated \\
        --d_in 128 --d_sae 512 --model_name raincandy-u/TinyStories-656K \\
        --model_class_name AutoModelForCausalLM --hook_name model.layers.1.mlp \\
        --dataset_path ../shared/assets/datasets/tinystories \\
        --model_from_pretrained_kwargs '{"dtype": "float32"}' --log_to_wandb False \\
        --output_path output/cli_sae

Flags may be spelled with dashes too (``--training-tokens``), and ``--output``
means ``--output_path``, as in the package's other commands. Two flags are
ours: ``--overwrite`` (replace an existing output) and
``--skip-non-finite-batches`` (drop NaN/inf input batches instead of
stopping). Training runs through ``SignAwareTrainingRunner`` (SAELens's
runner with the ``d_in`` check, the NaN guard, atomic output and clean
interrupts). Under ``torchrun --nproc_per_node N -m
sae_lens_signaware_cli.train ARGS`` the same command trains data-parallel over
``N`` processes; token counts are global and rank 0 writes the outputs.
"""

import sys
from collections.abc import Sequence
from typing import Any

DESCRIPTION = __doc__
#: our flags (store-true), removed before SAELens's parser sees the arguments
OUR_FLAGS = {
    "--overwrite": "overwrite",
    "--skip-non-finite-batches": "skip_non_finite_batches",
    "--skip_non_finite_batches": "skip_non_finite_batches",
}
#: our spellings of SAELens's flags
ALIASES = {"--output": "--output_path"}
SHORT_HELP = """usage: sae-signaware train --architecture ARCH [SAELens runner flags] \\
    [--overwrite] [--skip-non-finite-batches]

{doc}
Every field of SAELens's LanguageModelSAERunnerConfig is a flag (--model_name,
--hook_name, --dataset_path, --training_tokens, --lr, --output_path, ...), and
--architecture adds the fields of that SAE config. For the full list:
sae-signaware train --architecture sign_aware_gated --help
"""


def split_our_flags(args: Sequence[str]) -> tuple[list[str], dict[str, bool]]:
    """``args`` for SAELens's parser (our flags removed, dashed spellings turned
    into SAELens's underscores), and which of our flags were given."""
    given = dict.fromkeys(OUR_FLAGS.values(), False)
    rest: list[str] = []
    for arg in args:
        if arg in OUR_FLAGS:
            given[OUR_FLAGS[arg]] = True
            continue
        if arg.startswith("--") and not arg.startswith("---"):
            flag, sep, value = arg.partition("=")
            flag = ALIASES.get(flag, "--" + flag[2:].replace("-", "_"))
            arg = flag + sep + value
        rest.append(arg)
    return rest, given


def run_passthrough(argv: Sequence[str]) -> Any:
    """Parse with SAELens's parser, then train with ``run_training``."""
    argv = list(argv)
    if any(a in ("-h", "--help") for a in argv):
        if "--architecture" not in argv:
            print(SHORT_HELP.format(doc=(__doc__ or "").split("\n\n")[0]))
            return None
        from sae_lens_signaware_cli.train_help import cached_help

        index = argv.index("--architecture") + 1
        text = cached_help(argv[index]) if index < len(argv) else None
        if text is not None:
            print(text, end="")
            return None
    from sae_lens.llm_sae_training_runner import _parse_cfg_args

    from sae_lens_signaware import register
    from sae_lens_signaware.distributed import init_from_env
    from sae_lens_signaware.training.runner import run_training
    from sae_lens_signaware_cli.errors import report_user_errors

    register()  # done by the import; named here because it is the point
    rest, flags = split_our_flags(argv)
    with report_user_errors():
        cfg = _parse_cfg_args(rest)
    init_from_env()  # a process group when started by torchrun
    with report_user_errors():
        sae, losses = run_training(
            cfg,
            overwrite=flags["overwrite"],
            skip_non_finite_batches=flags["skip_non_finite_batches"],
        )
    if cfg.output_path is not None:
        from sae_lens_signaware.distributed import is_main_process

        if is_main_process():
            print(
                f"wrote the SAE ({sae.cfg.architecture()}, d_sae {sae.cfg.d_sae}, "
                f"{len(losses)} steps) to {cfg.output_path}"
            )
    return sae


def main(argv: Sequence[str] | None = None) -> Any:
    """``python -m sae_lens_signaware_cli.train ARGS`` (what torchrun starts)."""
    from sae_lens_signaware_cli.cli import terminate_as_interrupt

    terminate_as_interrupt()
    return run_passthrough(sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    main()
