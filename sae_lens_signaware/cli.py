"""``sae-signaware``: the package's command line.

    sae-signaware train ARGS      SAELens's training CLI (see sae_lens_signaware.train)
    sae-signaware main-job [...]  train, evaluate and save the main SA-GSAE
    sae-signaware dashboard ...   static two-polarity dashboard of a saved SAE
    sae-signaware synthetic ...   synthetic protocols with known ground truth
    sae-signaware bench pareto    EV / dead / CE recovered vs L0 across architectures

A subcommand is a ``Command`` in ``COMMANDS``: it adds its flags to its parser
and runs on the parsed namespace. A ``passthrough`` command gets the raw
arguments that follow its name instead (``args.rest``).
"""

import argparse
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sae_lens_signaware import main_job, train
from sae_lens_signaware.bench import pareto
from sae_lens_signaware.dashboard import cli as dashboard_cli
from sae_lens_signaware.synthetic import cli as synthetic_cli


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    run: Callable[[argparse.Namespace], Any]
    add_arguments: Callable[[argparse.ArgumentParser], None] | None = None
    passthrough: bool = False


def _run_train(args: argparse.Namespace) -> None:
    train.main(args.rest)


#: ``bench`` subcommands: name -> (help, add_arguments, run).
BENCHMARKS: dict[str, tuple[str, Any, Any]] = {
    "pareto": (
        "EV, dead fraction and CE loss recovered vs L0: SA-GSAE, its ablations, "
        "SAELens's Gated, JumpReLU, TopK, AbsTopK",
        pareto.add_arguments,
        pareto.run,
    ),
}


def _add_bench_arguments(parser: argparse.ArgumentParser) -> None:
    benches = parser.add_subparsers(dest="benchmark", required=True)
    for name, (help_text, add_arguments, _) in BENCHMARKS.items():
        add_arguments(benches.add_parser(name, help=help_text, description=help_text))


def _run_bench(args: argparse.Namespace) -> Any:
    return BENCHMARKS[args.benchmark][2](args)


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
        "dashboard",
        dashboard_cli.HELP,
        dashboard_cli.run_dashboard,
        dashboard_cli.add_arguments,
    ),
    Command(
        "bench",
        "benchmarks on the real TinyStories model (bench pareto [--quick] ...)",
        _run_bench,
        _add_bench_arguments,
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
