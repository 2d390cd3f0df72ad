"""Every ``--help`` works; the commands' help answers without loading torch
(what makes it fast: importing torch alone takes seconds here)."""

import subprocess
import sys

import pytest

from sae_lens_signaware_cli.cli import commands

SCRIPT = """
import sys
from sae_lens_signaware_cli.cli import main
try:
    main(sys.argv[1:])
except SystemExit as stop:
    code = stop.code
else:
    code = 0
print("TORCH_LOADED" if "torch" in sys.modules else "TORCH_NOT_LOADED")
sys.exit(code)
"""


def _help(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", SCRIPT, *argv],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    "argv",
    [[], ["--help"], *([c.name, "--help"] for c in commands())],
    ids=lambda argv: " ".join(argv) or "no-arguments",
)
def test_help_works_without_loading_torch(argv: list[str]) -> None:
    result = _help(*argv)
    assert result.returncode == 0, result.stderr
    assert "usage:" in result.stdout
    assert result.stdout.strip().endswith("TORCH_NOT_LOADED"), result.stdout[-300:]


@pytest.mark.integration  # loads SAELens to build its parser (about 10 s)
def test_the_full_train_help_lists_the_fields_with_their_docs() -> None:
    result = _help("train", "--architecture", "sign_aware_gated", "--help")
    assert result.returncode == 0, result.stderr
    assert "--sign_encoders {shared,per_sign}" in result.stdout
    assert "Width of the straight-through rectangle kernel" in result.stdout
