"""``sae-signaware synthetic``: the three synthetic protocols.

    sae-signaware synthetic polarity-dial [--output DIR] [--small] [--steps N] ...
    sae-signaware synthetic anomalies     [--output DIR] [--small] [--steps N] ...
    sae-signaware synthetic antipodal     [--output DIR] [--small] [--steps N] ...

``add_arguments`` / ``run`` serve a single ``synthetic`` subcommand with the
protocols as nested subcommands; each protocol also has its own
``add_<protocol>_arguments`` / ``run_<protocol>`` pair (``PROTOCOLS``).

The protocols share ``--output``; each writes its own ``<protocol>.json`` and
``.png`` there, whole (``outputs.write_atomic``). Before training, the flags are
range-checked, an existing result is refused unless ``--overwrite``, and a lock
on ``<out>/<protocol>`` refuses a second concurrent run of the same protocol.
"""

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sae_lens_signaware_cli.flags import add_output, add_threads, positive_int
from signaware_studies.names import SYNTHETIC_ARCH_NAMES

DESCRIPTION = __doc__
DEFAULT_OUT = "output/synthetic"


def _in_range(low: float, high: float) -> Callable[[str], float]:
    """An argparse type: a float in ``[low, high]``, else a message naming the range."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is not in [{low}, {high}]")
        return value

    return parse


PROBABILITY = _in_range(0.0, 1.0)
CORRELATION = _in_range(-1.0, 1.0)


def _common(parser: argparse.ArgumentParser) -> None:
    add_output(parser, DEFAULT_OUT, "the protocol's JSON and PNG")
    parser.add_argument(
        "--small",
        action="store_true",
        help="tiny, fast setting (overrides sizes, grid and --steps)",
    )
    parser.add_argument(
        "--steps", type=positive_int, default=None, help="training steps"
    )
    parser.add_argument("--seed", type=int, default=0)
    add_threads(parser)
    parser.add_argument(
        "--architectures",
        nargs="+",
        choices=SYNTHETIC_ARCH_NAMES,
        default=None,
        help="architectures to train (default: all the protocol uses)",
    )


def _kwargs(args: argparse.Namespace) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "out_dir": args.output,
        "small": args.small,
        "seed": args.seed,
        "threads": args.threads,
        "architectures": args.architectures,
    }
    if args.steps is not None:
        kwargs["n_steps"] = args.steps
    return kwargs


def add_polarity_dial_arguments(parser: argparse.ArgumentParser) -> None:
    _common(parser)
    parser.add_argument(
        "--l0", type=_in_range(1e-6, 1e6), default=4.0, help="target L0"
    )
    parser.add_argument(
        "--p-plus", type=PROBABILITY, nargs="+", default=[0.5, 0.75, 0.9, 1.0]
    )
    parser.add_argument("--rho", type=CORRELATION, nargs="+", default=[0.0, -0.5, -1.0])


def run_polarity_dial(args: argparse.Namespace) -> dict[str, Any]:
    from signaware_studies.synthetic.polarity_dial import run_polarity_dial as run_

    return run_(
        l0=args.l0,
        p_plus_values=tuple(args.p_plus),
        rho_values=tuple(args.rho),
        **_kwargs(args),
    )


def add_anomalies_arguments(parser: argparse.ArgumentParser) -> None:
    _common(parser)
    parser.add_argument("--budgets", type=positive_int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--p-plus-train", type=PROBABILITY, default=0.95)


def run_anomalies(args: argparse.Namespace) -> dict[str, Any]:
    from signaware_studies.synthetic.anomalies import run_anomalies as run_

    return run_(
        budgets=tuple(args.budgets), p_plus_train=args.p_plus_train, **_kwargs(args)
    )


def add_antipodal_arguments(parser: argparse.ArgumentParser) -> None:
    _common(parser)
    parser.add_argument("--d", type=positive_int, default=16, help="input dimension")
    parser.add_argument(
        "--ratios", type=_in_range(1e-3, 1e3), nargs="+", default=[1.5, 2.0, 3.0, 4.0]
    )
    parser.add_argument("--rho", type=CORRELATION, nargs="+", default=[0.0, -0.5, -1.0])


def run_antipodal(args: argparse.Namespace) -> dict[str, Any]:
    from signaware_studies.synthetic.antipodal import run_antipodal as run_

    return run_(
        d=args.d, ratios=tuple(args.ratios), rho_values=tuple(args.rho), **_kwargs(args)
    )


Protocol = tuple[
    str,
    Callable[[argparse.ArgumentParser], None],
    Callable[[argparse.Namespace], dict[str, Any]],
]

PROTOCOLS: dict[str, Protocol] = {
    "polarity-dial": (
        "signed axes with a dialled sign asymmetry and within-pair correlation: MSE vs L0 and calibration slopes",
        add_polarity_dial_arguments,
        run_polarity_dial,
    ),
    "anomalies": (
        "rare-sign anomalies detected with at most k latents: AUROC per architecture",
        add_anomalies_arguments,
        run_anomalies,
    ),
    "antipodal": (
        "antipodal pairs in superposition: pair consolidation rate vs 2K/d and rho",
        add_antipodal_arguments,
        run_antipodal,
    ),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Nested ``polarity-dial | anomalies | antipodal`` subcommands."""
    sub = parser.add_subparsers(dest="protocol", required=True)
    for name, (help_, add, _) in PROTOCOLS.items():
        add(sub.add_parser(name, help=help_, description=help_))


def check_result_path(out: Path, protocol: str, overwrite: bool) -> Path:
    """``out/<stem>.json``, refused if it exists without ``overwrite`` or ``out``
    cannot be written."""
    from sae_lens_signaware.outputs import check_output_path

    check_output_path(out, overwrite=True)
    result = out / f"{protocol.replace('-', '_')}.json"
    if result.exists() and not overwrite:
        raise FileExistsError(
            f"{result} exists; pass --overwrite to replace it (or another --output)"
        )
    return result


def run(args: argparse.Namespace) -> dict[str, Any]:
    from sae_lens_signaware.outputs import OutputLock
    from sae_lens_signaware_cli.errors import report_user_errors

    with report_user_errors():
        result_path = check_result_path(args.output, args.protocol, args.overwrite)
        created = not args.output.exists()
        try:
            with OutputLock(result_path.with_suffix("")):
                result = PROTOCOLS[args.protocol][2](args)
        finally:
            if created and args.output.is_dir() and not any(args.output.iterdir()):
                args.output.rmdir()  # a failed first run leaves no empty folder
    files = ", ".join(str(p) for p in result.get("files", {}).values())
    print(f"{args.protocol}: {result['wall_seconds']} s; wrote {files}")
    return result
