"""Every ``--help`` works; the commands' help answers without loading torch
(what makes it fast: importing torch alone takes seconds here)."""

import subprocess
import sys

import pytest

from sae_lens_signaware_cli import train_help
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


def test_the_full_train_help_lists_the_fields() -> None:
    """From the stored text, without torch, while the installed versions are
    those it was built with; from SAELens's parser otherwise."""
    result = _help("train", "--architecture", "sign_aware_gated", "--help")
    assert result.returncode == 0, result.stderr
    assert "--sign_encoders {shared,per_sign}" in result.stdout
    assert "Width of the straight-through rectangle kernel" in result.stdout
    stored = train_help.cached_help("sign_aware_gated") is not None
    expected = "TORCH_NOT_LOADED" if stored else "TORCH_LOADED"
    assert result.stdout.strip().endswith(expected), result.stdout[-300:]


def test_the_stored_help_is_used_only_for_the_versions_it_was_built_with(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    header, text = train_help.stored_help()
    monkeypatch.setattr(train_help, "versions", lambda: header)
    assert train_help.cached_help("sign_aware_gated") == text
    assert "usage: sae-signaware" in text
    assert train_help.cached_help("gated") is None  # SAELens's own: its parser
    monkeypatch.setattr(train_help, "versions", lambda: "# sae-lens 0.0.0")
    assert train_help.cached_help("sign_aware_gated") is None


@pytest.mark.integration  # loads SAELens to build its parser (about 7 s)
def test_the_stored_train_help_is_the_parsers() -> None:
    """After a change to a config field's docstring, rebuild it:
    ``python -m sae_lens_signaware_cli.train_help``."""
    assert train_help.stored_help()[1] == train_help.live_help()
