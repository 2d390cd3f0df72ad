"""``sae-signaware``: the package's command line.

    sae-signaware train ARGS      SAELens's training CLI (see sae_lens_signaware.train)
    sae-signaware main-job [...]  train, evaluate and save the main SA-GSAE
    sae-signaware sweep ...       an L0 sweep of SA-GSAEs from one pass of the model
    sae-signaware dashboard ...   static two-polarity dashboard of a saved SAE
    sae-signaware synthetic ...   synthetic protocols with known ground truth
    sae-signaware compare ...     EV / dead / CE loss score vs L0 across architectures

A subcommand is a ``Command`` in ``COMMANDS``: it adds its flags to its parser
and runs on the parsed namespace. A ``passthrough`` command gets the raw
arguments that follow its name instead (``args.rest``).
"""

import argparse
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sae_lens_signaware import main_job, train
from sae_lens_signaware.comparison import compare
from sae_lens_signaware.dashboard import cli as dashboard_cli
from sae_lens_signaware.synthetic import cli as synthetic_cli
from sae_lens_signaware.training import sweep as l0_sweep


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    run: Callable[[argparse.Namespace], Any]
    add_arguments: Callable[[argparse.ArgumentParser], None] | None = None
    passthrough: bool = False


def _run_train(args: argparse.Namespace) -> None:
    train.main(args.rest)


COMMANDS = [
    Command(
        "train",
        "train an SAE with SAELens's CLI (--architecture sign_aware_gated ...)",
        _run_train,
        passthrough=True,
    ),
    Command(
        "main-job",
        "train, evaluate and save the main SA-GSAE",
        main_job.run,
        main_job.add_arguments,
    ),
    Command(
        "sweep",
        "train an L0 sweep of SA-GSAEs (x widths, x hooks) in one pass of the "
        "model with SAELens's MultiSAETrainingRunner; one SAELens folder each",
        l0_sweep.run,
        l0_sweep.add_arguments,
    ),
    Command(
        "dashboard",
        dashboard_cli.HELP,
        dashboard_cli.run_dashboard,
        dashboard_cli.add_arguments,
    ),
    Command(
        "compare",
        "train the SA-GSAE and SAELens's architectures at matched L0 on cached "
        "activations; EV, dead fraction and CE loss score vs L0 (--quick: minutes)",
        compare.run,
        compare.add_arguments,
    ),
    Command(
        "synthetic",
        synthetic_cli.HELP,
        synthetic_cli.run,
        synthetic_cli.add_arguments,
    ),
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sae-signaware",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    subparsers = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        sub = subparsers.add_parser(
            command.name,
            help=command.help,
            description=command.help,
            add_help=not command.passthrough,
        )
        if command.add_arguments is not None:
            command.add_arguments(sub)
        sub.set_defaults(command_spec=command)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    parser = build_parser()
    args, rest = parser.parse_known_args(argv)
    if rest and not args.command_spec.passthrough:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    args.rest = rest
    args.command_spec.run(args)


if __name__ == "__main__":
    main()
