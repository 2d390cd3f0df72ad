"""``sae-signaware compare``: EV, dead latents and CE loss score against L0, for the
SA-GSAE and SAELens's architectures at matched L0 on cached activations.

    sae-signaware compare [--quick] [--output DIR] [--model NAME] [--layer L]
        [--cells resid,mlp_out,attn_out] [--targets 4 8 16 32] [--seeds 0 1 2]
        [--archs sa_gsae,gated,...] [--steps N] [--training-tokens N] [--lr LR]

Each finished run is a line of ``runs.jsonl`` in ``--output``; a rerun skips the
runs found there, so a comparison can be stopped and resumed.
"""

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypedDict

from sae_lens_signaware_cli.assets import DEFAULT_MODEL
from sae_lens_signaware_cli.flags import (
    add_flag,
    add_output,
    add_threads,
    non_negative_int,
    positive_float,
    positive_int,
)
from signaware_studies.names import ARCH_NAMES, CELLS

if TYPE_CHECKING:
    from signaware_studies.comparison.compare import CompareSettings

DESCRIPTION = __doc__
DEFAULT_OUTPUT = "output/compare"


class SettingsFields(TypedDict, total=False):
    """The ``CompareSettings`` fields that ``QUICK`` and the flags set."""

    model: str
    layer: int
    cells: list[str]
    targets: list[float]
    seeds: list[int]
    archs: list[str]
    n_steps: int
    batch_size: int
    lr: float
    train_tokens: int
    val_tokens: int
    ce_tokens: int
    b_dec_init: Literal["zeros", "mean"]


#: ``--quick``: one cell, one seed, two targets, 200 short steps
QUICK: SettingsFields = {
    "cells": ["mlp_out"],
    "targets": [8.0, 16.0],
    "seeds": [0],
    "n_steps": 200,
    "batch_size": 512,
    "train_tokens": 100_000,
    "val_tokens": 20_000,
    "ce_tokens": 8_192,
}


def _names(known: Sequence[str], what: str) -> Callable[[str], list[str]]:
    def parse(text: str) -> list[str]:
        names = [n for n in text.split(",") if n]
        if not names:
            raise argparse.ArgumentTypeError(f"no {what} given")
        unknown = [n for n in names if n not in known]
        if unknown:
            raise argparse.ArgumentTypeError(
                f"unknown {what} {', '.join(unknown)} (known: {', '.join(known)})"
            )
        if len(set(names)) != len(names):
            raise argparse.ArgumentTypeError(f"repeated {what}: {text}")
        return names

    return parse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_flag(
        parser,
        "--quick",
        action="store_true",
        help="one cell, one seed, targets 8 16, 200 short steps",
    )
    add_output(parser, DEFAULT_OUTPUT, "runs.jsonl, summary.json, results.md, plots")
    add_flag(parser, "--model", default=None, help=f"model (default {DEFAULT_MODEL})")
    add_flag(
        parser,
        "--layer",
        type=non_negative_int,
        default=None,
        help="layer of the cells (default 1)",
    )
    add_flag(
        parser,
        "--cells",
        type=_names(list(CELLS), "cell"),
        default=None,
        help="comma-separated: " + ",".join(CELLS),
    )
    add_flag(parser, "--targets", type=positive_float, nargs="+", default=None)
    add_flag(parser, "--seeds", type=non_negative_int, nargs="+", default=None)
    add_flag(
        parser,
        "--archs",
        type=_names(ARCH_NAMES, "architecture"),
        default=None,
        help="comma-separated: " + ",".join(ARCH_NAMES),
    )
    add_flag(parser, "--steps", type=positive_int, default=None)
    add_flag(
        parser, "--training-tokens", "--train-tokens", type=positive_int, default=None
    )
    add_flag(parser, "--lr", type=positive_float, default=None, help="default 3e-4")
    add_flag(
        parser,
        "--b-dec-init",
        choices=["mean", "zeros"],
        default=None,
        help="b_dec at the start: the training mean (default) or SAELens's zeros",
    )
    add_flag(parser, "--cache-dir", type=Path, default=Path(".cache/activations"))
    add_threads(parser)


def settings_fields(args: argparse.Namespace) -> SettingsFields:
    """The settings the flags ask for: ``QUICK`` under ``--quick``, then each
    flag given (the others keep ``CompareSettings``'s defaults)."""
    values: SettingsFields = {**QUICK} if args.quick else {}
    if args.model is not None:
        values["model"] = args.model
    if args.layer is not None:
        values["layer"] = args.layer
    if args.cells is not None:
        values["cells"] = args.cells
    if args.archs is not None:
        values["archs"] = args.archs
    if args.targets is not None:
        values["targets"] = [float(t) for t in args.targets]
    if args.seeds is not None:
        values["seeds"] = args.seeds
    if args.steps is not None:
        values["n_steps"] = args.steps
    if args.training_tokens is not None:
        values["train_tokens"] = args.training_tokens
    if args.lr is not None:
        values["lr"] = args.lr
    if args.b_dec_init is not None:
        values["b_dec_init"] = args.b_dec_init
    return values


def settings_from_args(args: argparse.Namespace) -> "CompareSettings":
    """The ``CompareSettings`` the flags ask for (validated as it is made)."""
    from signaware_studies.comparison.compare import CompareSettings

    return CompareSettings(**settings_fields(args))


def run(args: argparse.Namespace) -> dict[str, Any]:
    from sae_lens_signaware_cli.errors import report_user_errors
    from sae_lens_signaware_cli.flags import set_threads
    from signaware_studies.comparison.compare import run_comparison

    with report_user_errors():
        settings = settings_from_args(args)
        set_threads(args.threads)
        summary = run_comparison(
            args.output,
            settings,
            args.cache_dir,
            progress=lambda line: print(line, flush=True),
        )
    print((args.output / "results.md").read_text())
    files = ["runs.jsonl", "summary.json", "results.md"]
    files += [Path(p).name for p in summary["plots"]]
    print(f"wrote {', '.join(files)} to {args.output}")
    return summary
