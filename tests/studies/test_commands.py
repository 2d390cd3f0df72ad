"""The studies' commands as ``sae-signaware`` lists them: registered through the
entry-point group, and ``--help`` answered without importing torch."""

import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow

HELP_WITHOUT_TORCH = """
import sys
from sae_lens_signaware_cli.cli import main
try:
    main([{command!r}, "--help"])
except SystemExit as stop:
    assert stop.code == 0, stop.code
print("torch imported:", "torch" in sys.modules)
"""


def test_compare_and_synthetic_are_registered() -> None:
    from sae_lens_signaware_cli.cli import commands

    found = {c.name: c.module for c in commands()}
    assert found["compare"] == "signaware_studies.commands.compare"
    assert found["synthetic"] == "signaware_studies.commands.synthetic"


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("compare", ["--training-tokens", "--output", "sa_gsae,gated"]),
        ("synthetic", ["polarity-dial", "anomalies", "antipodal"]),
    ],
)
def test_help_does_not_import_torch(command: str, expected: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-c", HELP_WITHOUT_TORCH.format(command=command)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert "torch imported: False" in done.stdout
    for text in expected:
        assert text in done.stdout
