"""The flags every command spells the same way, and the old spellings they replace.

One name per meaning across commands: ``--output`` (a folder the command
writes), ``--overwrite``, ``--training-tokens``, ``--d-sae``, ``--lr``,
``--seed``, ``--threads``, ``--sae FIELD=VALUE``. Each also answers to its
underscore form (``--training_tokens``, as SAELens spells its fields). Old
spellings (``--out``, ``--tokens``, ``--train-tokens``) still work and print a
deprecation line. This module imports nothing heavy, so ``--help`` is fast.
"""

import argparse
import json
import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

#: old spelling -> the flag it became
DEPRECATED: dict[str, str] = {
    "--out": "--output",
    "--tokens": "--training-tokens",
    "--train-tokens": "--training-tokens",
}


class _Deprecated(argparse.Action):
    """Stores like the flag it aliases (``kind``: store, store_true or append),
    after a deprecation line on stderr."""

    def __init__(
        self,
        option_strings: Sequence[str],
        dest: str,
        replacement: str = "",
        kind: str = "store",
        **kwargs: Any,
    ):
        self.replacement = replacement
        self.kind = kind
        super().__init__(option_strings, dest, **kwargs)

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        print(
            f"warning: {option_string} is deprecated; use {self.replacement}",
            file=sys.stderr,
        )
        if self.kind == "store_true":
            values = True
        elif self.kind == "append":
            values = [*(getattr(namespace, self.dest, None) or []), values]
        setattr(namespace, self.dest, values)


def add_flag(
    parser: argparse.ArgumentParser, name: str, *old: str, **kwargs: Any
) -> None:
    """Add ``name`` (and its underscore form) with ``kwargs``; each of ``old``
    stores into the same destination after a deprecation line."""
    names = [name]
    if "-" in name[2:]:
        names.append("--" + name[2:].replace("-", "_"))
    parser.add_argument(*names, **kwargs)
    kind = kwargs.get("action", "store")
    alias = {k: v for k, v in kwargs.items() if k in ("type", "nargs", "metavar")}
    if kind == "store_true":
        alias["nargs"] = 0
    for spelling in old:
        parser.add_argument(
            spelling,
            dest=kwargs.get("dest") or name[2:].replace("-", "_"),
            action=_Deprecated,
            replacement=name,
            kind=kind,
            default=argparse.SUPPRESS,
            help=argparse.SUPPRESS,
            **alias,
        )


def positive_int(text: str) -> int:
    """An argparse type: an int > 0."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an int") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{value} is not > 0")
    return value


def non_negative_int(text: str) -> int:
    """An argparse type: an int >= 0."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an int") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is not >= 0")
    return value


def positive_float(text: str) -> float:
    """An argparse type: a finite number > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"{value} is not a finite number > 0")
    return value


def field_value(text: str) -> tuple[str, Any]:
    """``FIELD=VALUE``, the value read as JSON where it parses (``0.5``, ``true``);
    other text stays a string, which the config parses (``False``, ``no``) or refuses."""
    field, sep, raw = text.partition("=")
    if not sep or not field:
        raise argparse.ArgumentTypeError(f"expected FIELD=VALUE, got {text!r}")
    try:
        return field, json.loads(raw)
    except json.JSONDecodeError:
        return field, raw


def add_output(parser: argparse.ArgumentParser, default: str | None, what: str) -> None:
    """``--output`` (old: ``--out``) and ``--overwrite``."""
    add_flag(
        parser,
        "--output",
        "--out",
        type=Path,
        default=None if default is None else Path(default),
        required=default is None,
        help=f"output folder for {what}"
        + ("" if default is None else f" (default {default})"),
    )
    add_flag(
        parser,
        "--overwrite",
        action="store_true",
        help="replace an existing --output (atomically; else the run is refused)",
    )


def add_training_tokens(parser: argparse.ArgumentParser, default: int) -> None:
    """``--training-tokens`` (old: ``--tokens``, ``--train-tokens``)."""
    add_flag(
        parser,
        "--training-tokens",
        "--tokens",
        "--train-tokens",
        type=positive_int,
        default=default,
        help=f"training tokens (default {default:,})",
    )


def add_lr(parser: argparse.ArgumentParser, default: float) -> None:
    add_flag(
        parser,
        "--lr",
        type=positive_float,
        default=default,
        help=f"learning rate (default {default:g})",
    )


def add_threads(parser: argparse.ArgumentParser) -> None:
    add_flag(
        parser,
        "--threads",
        type=non_negative_int,
        default=1,
        help="torch CPU threads (default 1, fastest for small models on a shared "
        "CPU; 0 keeps torch's)",
    )


def add_sae_overrides(parser: argparse.ArgumentParser, what: str) -> None:
    add_flag(
        parser,
        "--sae",
        type=field_value,
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help=f"override a SignAwareGatedTrainingSAEConfig default {what} "
        "(repeatable), e.g. --sae l0_coefficient=2 --sae ste_to_input=false",
    )


def set_threads(threads: int) -> None:
    """``torch.set_num_threads`` unless ``threads`` is 0 (keep torch's)."""
    if threads:
        import torch

        torch.set_num_threads(threads)


Runner = Callable[[argparse.Namespace], Any]
