"""``sae-signaware``: the package's command line.

    sae-signaware main-job [...]   train, evaluate and save the main SA-GSAE
    sae-signaware train ARGS       SAELens's training CLI, the architecture registered
    sae-signaware sweep ...        an L0 sweep of SA-GSAEs from one pass of the model
    sae-signaware dashboard ...    static two-polarity dashboard of a saved SAE

Installed plugins add commands through the entry-point group
``sae_lens_signaware.commands`` (the studies add ``compare`` and ``synthetic``).
A command is a ``Command``: a name, a help line and the module that holds its
``add_arguments(parser)`` and ``run(args)`` (or ``run_passthrough(argv)``). The
module is imported only when its command runs, and imports nothing heavy at
its top, so ``--help`` answers without loading torch.
"""

import argparse
import importlib
import signal
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any

ENTRY_POINT_GROUP = "sae_lens_signaware.commands"


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    module: str
    passthrough: bool = False


BUILTIN = (
    Command(
        "main-job",
        "train, evaluate and save the main SA-GSAE on the offline TinyStories model",
        "sae_lens_signaware_cli.main_job",
    ),
    Command(
        "train",
        "SAELens's training CLI with sign_aware_gated registered "
        "(--architecture sign_aware_gated ...)",
        "sae_lens_signaware_cli.train",
        passthrough=True,
    ),
    Command(
        "sweep",
        "train an L0 sweep of SA-GSAEs (x widths, x hooks) from one pass of the model",
        "sae_lens_signaware_cli.sweep",
    ),
    Command(
        "dashboard",
        "build a static two-polarity dashboard (index + one page per latent) of a "
        "saved SAE",
        "sae_lens_signaware_cli.dashboard",
    ),
)


def commands() -> list[Command]:
    """The built-in commands, then those of installed plugins."""
    found = list(BUILTIN)
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        command = entry.load()
        if isinstance(command, Command) and command.name not in {c.name for c in found}:
            found.append(command)
    return found


def build_parser(available: Sequence[Command]) -> argparse.ArgumentParser:
    """The top-level parser: one line per command, no command's flags."""
    parser = argparse.ArgumentParser(
        prog="sae-signaware",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in available:
        subparsers.add_parser(command.name, help=command.help, add_help=False)
    return parser


def command_parser(command: Command, module: Any) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=f"sae-signaware {command.name}",
        description=getattr(module, "DESCRIPTION", command.help),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    module.add_arguments(parser)
    return parser


def terminate_as_interrupt() -> None:
    """SIGTERM raises KeyboardInterrupt, as Ctrl-C does, for the whole command
    (training installs its own handlers and restores this one), so that a
    command stopped while it loads or saves ends with one ``interrupted:``
    line and exit 130 too. Only in the main thread, where Python allows it."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, signal.default_int_handler)


def main(argv: Sequence[str] | None = None) -> None:
    """Run the command ``argv`` names (``sys.argv`` by default). Returns nothing:
    the console script exits with ``main()``'s value, so a result would become
    an exit status; a command's own ``run`` returns its result."""
    argv = list(sys.argv[1:] if argv is None else argv)
    terminate_as_interrupt()
    available = commands()
    parser = build_parser(available)
    by_name = {c.name: c for c in available}
    if not argv or argv[0] not in by_name:
        parser.parse_args(argv or ["--help"])  # help, or an error naming the choices
        return
    command = by_name[argv[0]]
    module = importlib.import_module(command.module)
    if command.passthrough:
        module.run_passthrough(argv[1:])
    else:
        module.run(command_parser(command, module).parse_args(argv[1:]))


if __name__ == "__main__":
    main()
