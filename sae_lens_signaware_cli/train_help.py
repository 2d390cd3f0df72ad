"""The full help of ``sae-signaware train --architecture sign_aware_gated``,
kept as text so that it answers without loading SAELens (which takes about 7 s
here).

``train_help.txt`` holds SAELens's parser output at 80 columns, under a first
line naming the versions of sae-lens and of this package it was built with; it
is shown only while those are the installed versions (otherwise the parser
runs). After changing a config field's docstring, rebuild it with
``python -m sae_lens_signaware_cli.train_help``; a test checks that it equals
the parser's output.
"""

import contextlib
import io
import os
import sys
from importlib import metadata
from pathlib import Path

ARCHITECTURE = "sign_aware_gated"
HELP_FILE = Path(__file__).with_name("train_help.txt")
COLUMNS = "80"


def versions() -> str:
    """The first line of ``train_help.txt``: what the help was built with."""
    return (
        f"# sae-lens {metadata.version('sae-lens')}, "
        f"sae-lens-signaware {metadata.version('sae-lens-signaware')}"
    )


def stored_help() -> tuple[str, str]:
    """``train_help.txt`` as (its versions line, the help)."""
    header, _, text = HELP_FILE.read_text(encoding="utf-8").partition("\n")
    return header, text


def cached_help(architecture: str) -> str | None:
    """The stored help of ``architecture``, or None (another architecture, no
    file, or other installed versions)."""
    if architecture != ARCHITECTURE or not HELP_FILE.is_file():
        return None
    header, text = stored_help()
    return text if header == versions() else None


def live_help(architecture: str = ARCHITECTURE) -> str:
    """SAELens's parser output for ``--architecture architecture --help``, at 80
    columns, as ``sae-signaware`` prints it."""
    from sae_lens.llm_sae_training_runner import (
        _parse_cfg_args,  # pyright: ignore[reportPrivateUsage]
    )

    from sae_lens_signaware import register

    register()  # the import registers the architecture; named as the point

    out = io.StringIO()
    columns, prog = os.environ.get("COLUMNS"), sys.argv[0]
    os.environ["COLUMNS"], sys.argv[0] = COLUMNS, "sae-signaware"  # argparse's prog
    try:
        with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
            _parse_cfg_args(["--architecture", architecture, "--help"])
    finally:
        sys.argv[0] = prog
        if columns is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = columns
    return out.getvalue()


def main() -> None:
    """Rewrite ``train_help.txt`` from SAELens's parser."""
    from sae_lens_signaware.outputs import write_atomic

    write_atomic(HELP_FILE, versions() + "\n" + live_help())
    print(f"wrote {HELP_FILE}")


if __name__ == "__main__":
    main()
