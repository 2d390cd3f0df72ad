"""The documentation: the README's Python snippets run, the site builds
strictly, and every config field has the docstring the generated reference
and ``--help`` are made from."""

import dataclasses
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.paths import ASSETS, REPO

#: The README's snippets run from this marker on.
README_MARKER = "<!-- readme-snippets:"
README = REPO / "README.md"
#: The snippets write under this folder, relative to the repository root; the
#: test sends it to a temporary folder instead.
SNIPPET_OUTPUT = "output/"
SNIPPET_TIMEOUT_S = 600
PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def readme_snippets(text: str) -> list[str]:
    """The ```python blocks after the marker, in order."""
    return PYTHON_BLOCK.findall(text[text.index(README_MARKER) :])


def load_hooks() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "docs_hooks", REPO / "docs" / "hooks.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def config_classes() -> list[type]:
    from sae_lens_signaware.saes.config import (
        SignAwareGatedSAEConfig,
        SignAwareGatedTrainingSAEConfig,
    )

    return [SignAwareGatedTrainingSAEConfig, SignAwareGatedSAEConfig]


def own_fields(cls: type) -> list[str]:
    """The fields this package declares (SAELens's own carry no docstrings)."""
    hooks = load_hooks()
    own = hooks._own_fields(cls)
    return [f.name for f in dataclasses.fields(cls) if f.name in own]


# --------------------------------------------------------------------------
# the README's snippets


def test_readme_snippets_are_marked_and_write_only_under_output() -> None:
    text = README.read_text()
    assert README_MARKER in text, f"{README.name} lacks the marker {README_MARKER!r}"
    snippets = readme_snippets(text)
    assert len(snippets) >= 2
    for snippet in snippets:
        for path in re.findall(
            r"""["']((?:\.{0,2}/)?[\w./-]+/[\w./-]*)["']""", snippet
        ):
            if "/" in path and not path.startswith(("raincandy-u/", "org/")):
                assert path.startswith(SNIPPET_OUTPUT), (
                    f"a README snippet names the path {path!r}; snippets write "
                    f"only under {SNIPPET_OUTPUT!r}, which the test redirects"
                )


@pytest.mark.integration
def test_readme_snippets_run_in_order(tmp_path: Path) -> None:
    """Each ```python block of the README, in order, in its own process from
    the repository root, offline; ``output/`` is sent to a temporary folder."""
    snippets = readme_snippets(README.read_text())
    out = tmp_path / "output"
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "SAE_SIGNAWARE_ASSETS": str(ASSETS),
    }
    env.pop("HF_HUB_CACHE", None)  # use_offline_hub() points it at the assets
    for number, snippet in enumerate(snippets, 1):
        code = snippet.replace(f'"{SNIPPET_OUTPUT}', f'"{out}/')
        script = tmp_path / f"snippet_{number}.py"
        script.write_text(code)
        done = subprocess.run(
            [sys.executable, str(script)],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=SNIPPET_TIMEOUT_S,
        )
        assert done.returncode == 0, (
            f"{README.name} snippet {number} failed:\n{done.stdout[-3000:]}\n"
            f"{done.stderr[-6000:]}"
        )
    assert any(out.rglob("cfg.json")), f"the snippets wrote no SAE under {out}"


# --------------------------------------------------------------------------
# the site


def test_mkdocs_build_strict(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``mkdocs build --strict`` succeeds (warnings fail it), in this process:
    the hooks import the config classes, which the test session has loaded."""
    from mkdocs.commands.build import build
    from mkdocs.config import load_config

    monkeypatch.chdir(REPO)
    config = load_config(
        config_file=str(REPO / "mkdocs.yml"),
        site_dir=str(tmp_path / "site"),
        strict=True,
    )
    build(config)
    html = (tmp_path / "site" / "configuration" / "index.html").read_text()
    for cls in config_classes():
        for field in dataclasses.fields(cls):
            assert f"<code>{field.name}</code>" in html, field.name
    commands_html = (tmp_path / "site" / "commands" / "index.html").read_text()
    assert "GENERATED" not in html + commands_html
    from sae_lens_signaware_cli.cli import commands

    for command in commands():
        assert f"sae-signaware {command.name}" in commands_html, command.name


# --------------------------------------------------------------------------
# the config fields' docstrings


@pytest.mark.parametrize("cls", config_classes(), ids=lambda c: c.__name__)
def test_every_config_field_has_a_docstring(cls: type) -> None:
    from simple_parsing.docstring import get_attribute_docstring

    names = own_fields(cls)
    assert names, cls
    for name in names:
        doc = get_attribute_docstring(cls, name).docstring_below
        assert doc and doc.strip(), f"{cls.__name__}.{name} has no docstring below it"
        assert "%" not in doc, (
            f"{cls.__name__}.{name}'s docstring has a '%', which breaks argparse's "
            "help formatting (write 'percent')"
        )


@pytest.mark.parametrize("cls", config_classes(), ids=lambda c: c.__name__)
def test_saelens_fields_are_described(cls: type) -> None:
    """SAELens's inherited fields have no docstrings upstream; the docs hook
    describes each one."""
    hooks = load_hooks()
    own = set(own_fields(cls))
    inherited = {f.name for f in dataclasses.fields(cls)} - own
    missing = inherited - set(hooks.SAELENS_FIELDS)
    assert not missing, f"describe {sorted(missing)} in docs/hooks.py SAELENS_FIELDS"
