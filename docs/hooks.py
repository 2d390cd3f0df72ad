"""MkDocs hooks: the reference pages are generated from the code at build time.

A page asks for a generated block with a placeholder on a line of its own::

    <!-- GENERATED:name -->

and ``on_page_markdown`` replaces it with ``GENERATORS[name]()``. An unknown
name fails the build. The sources:

- ``config-training``, ``config-inference``: every field of
  ``SignAwareGatedTrainingSAEConfig`` / ``SignAwareGatedSAEConfig``: its type
  and default from the dataclass, its description from the docstring below the
  field (read with ``simple_parsing``, a SAELens dependency), the
  setting it is used with (``USED_ONLY_WITH``), its upper bound
  (``UPPER_BOUNDS``) and its ``PLAIN_SETTINGS`` value. SAELens's inherited
  fields carry no docstring upstream; ``SAELENS_FIELDS`` below describes them.
- ``plain-settings``: ``PLAIN_SETTINGS`` against the defaults.
- ``options-glance``: our training fields, each with its default and the first
  sentence of its docstring.
- ``deprecated-flags``: the old flag spellings (``flags.DEPRECATED``).
- ``commands``: every ``sae-signaware`` command (``cli.commands()``, plugins
  included) and its flags, from the argparse parser the command itself builds.
- ``layout``: the modules of the three layers and the benchmark scripts, each
  with the first paragraph of its docstring (read with ``ast``, nothing
  imported).
- ``changelog``: ``CHANGELOG.md`` from the repository root.

Nothing here needs the model or the offline assets.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import importlib
import inspect
import re
import typing
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
PLACEHOLDER = re.compile(r"^<!-- GENERATED:([a-z0-9-]+) -->$", re.MULTILINE)

#: SAELens's own fields of ``SAEConfig`` / ``TrainingSAEConfig`` (no docstrings
#: upstream); ``tests/docs/test_docs.py`` checks that this covers every one.
SAELENS_FIELDS: dict[str, str] = {
    "d_in": "Width of the activations the SAE reads (the hook's width).",
    "d_sae": "Number of latents.",
    "dtype": "Parameter dtype, a torch floating dtype name (``float32``, "
    "``bfloat16``, ...). The thresholds and the L0 controller stay float32.",
    "device": "Device of the parameters (``cpu``, ``cuda``, ``cuda:1``, ...).",
    "apply_b_dec_to_input": "Subtract ``b_dec`` from the input before encoding "
    "(``x~ = x - b_dec``).",
    "normalize_activations": "SAELens's input normalisation; "
    '``"expected_average_only_in"`` scales inputs to a mean norm of '
    "``sqrt(d_in)`` (the factor is folded into the weights when saved). "
    '``"covariance_whitening"`` is refused under data-parallel training.',
    "reshape_activations": "SAELens's reshaping of the hook's output (``\"hook_z\"``"
    " flattens attention heads).",
    "metadata": "Where the SAE was trained (model, hook, context size, ...); "
    "filled by SAELens's runner and saved in ``cfg.json``.",
    "decoder_init_norm": "Norm of the decoder rows at initialisation "
    "(SAELens's heuristic initialisation; None to disable). ``W_enc`` starts "
    "as ``W_dec.T``.",
}


# --------------------------------------------------------------------------
# small helpers


_CODE_SPAN = re.compile(r"(``.+?``|`[^`]+`)")


def _escape_cell(text: str) -> str:
    """Text for a Markdown table cell: one line, pipes escaped outside code
    spans (inside them the tables extension leaves pipes alone)."""
    parts = _CODE_SPAN.split(" ".join(text.split()))
    return "".join(
        part if i % 2 else part.replace("|", "\\|") for i, part in enumerate(parts)
    )


def _type_name(annotation: Any) -> str:
    if isinstance(annotation, type):
        return annotation.__name__
    text = str(annotation).replace("typing.", "")
    text = re.sub(r"<class '([\w.]+)'>", lambda m: m.group(1).rsplit(".", 1)[-1], text)
    return re.sub(r"\b(?:[a-z_]+\.)+([A-Z]\w*)", r"\1", text)


def _literal_code(value: Any) -> str:
    if isinstance(value, str):
        return f'`"{value}"`'
    return f"`{value!r}`"


def _default(field: dataclasses.Field[Any]) -> str:
    if field.default is not dataclasses.MISSING:
        return _literal_code(field.default)
    if field.default_factory is not dataclasses.MISSING:
        factory = field.default_factory
        return f"`{getattr(factory, '__name__', 'factory')}()`"
    return "required"


def _docstring_below(cls: type, name: str) -> str:
    from simple_parsing.docstring import get_attribute_docstring

    doc = get_attribute_docstring(cls, name).docstring_below or ""
    return inspect.cleandoc(doc)


def _own_fields(cls: type) -> set[str]:
    """Fields that ``cls`` or one of its bases in this package declares."""
    own: set[str] = set()
    for klass in cls.__mro__:
        if klass.__module__.startswith("sae_lens_signaware"):
            own |= set(klass.__dict__.get("__annotations__", {}))
    return own


# --------------------------------------------------------------------------
# configuration reference


def field_rows(cls: type) -> list[dict[str, str]]:
    """One dict per dataclass field of ``cls``: name, type, default,
    description, source (``"ours"`` or ``"SAELens"``), used_with, bound, plain."""
    from sae_lens_signaware.saes.config import (
        PLAIN_SETTINGS,
        UPPER_BOUNDS,
        USED_ONLY_WITH,
    )

    own = _own_fields(cls)
    hints = typing.get_type_hints(cls)
    rows = []
    for field in dataclasses.fields(cls):
        ours = field.name in own
        description = (
            _docstring_below(cls, field.name)
            if ours
            else SAELENS_FIELDS.get(field.name, "")
        )
        used = USED_ONLY_WITH.get(field.name)
        rows.append(
            {
                "name": field.name,
                "type": _type_name(hints.get(field.name, field.type)),
                "default": _default(field),
                "description": description,
                "source": "ours" if ours else "SAELens",
                "used_with": used[0] if used else "",
                "bound": f"{UPPER_BOUNDS[field.name]:g}"
                if field.name in UPPER_BOUNDS
                else "",
                "plain": _literal_code(PLAIN_SETTINGS[field.name])
                if field.name in PLAIN_SETTINGS
                else "",
            }
        )
    return rows


def _field_section(row: dict[str, str], anchor_prefix: str) -> str:
    facts = [f"type `{row['type']}`", f"default {row['default']}"]
    if row["used_with"]:
        facts.append(f"used only with `{row['used_with']}`")
    if row["bound"]:
        facts.append(f"at most {row['bound']}")
    if row["plain"]:
        facts.append(f"`PLAIN_SETTINGS`: {row['plain']}")
    head = f"#### `{row['name']}` {{#{anchor_prefix}{row['name']}}}"
    return f"{head}\n\n*{'; '.join(facts)}*\n\n{row['description']}\n"


def config_reference(cls: type, anchor_prefix: str) -> str:
    rows = field_rows(cls)
    ours = [r for r in rows if r["source"] == "ours"]
    theirs = [r for r in rows if r["source"] != "ours"]
    summary = ["| field | type | default |", "|---|---|---|"]
    for row in rows:
        link = f"[`{row['name']}`](#{anchor_prefix}{row['name']})"
        summary.append(
            f"| {link} | `{_escape_cell(row['type'])}` | {_escape_cell(row['default'])} |"
        )
    parts = [
        "\n".join(summary),
        "",
        f"### Fields of `{cls.__name__}` {{#{anchor_prefix}ours}}",
        "",
        *(_field_section(r, anchor_prefix) for r in ours),
        f"### Inherited from SAELens {{#{anchor_prefix}saelens}}",
        "",
        "SAELens's own fields, passed on as SAELens uses them (types and ranges "
        "checked by this package).",
        "",
        *(_field_section(r, anchor_prefix) for r in theirs),
    ]
    return "\n".join(parts)


def config_training() -> str:
    from sae_lens_signaware.saes.config import SignAwareGatedTrainingSAEConfig

    return config_reference(SignAwareGatedTrainingSAEConfig, "train-")


def config_inference() -> str:
    from sae_lens_signaware.saes.config import SignAwareGatedSAEConfig

    return config_reference(SignAwareGatedSAEConfig, "infer-")


def plain_settings() -> str:
    from sae_lens_signaware.saes.config import (
        PLAIN_SETTINGS,
        SignAwareGatedTrainingSAEConfig,
    )

    defaults = {
        f.name: f.default for f in dataclasses.fields(SignAwareGatedTrainingSAEConfig)
    }
    lines = ["| field | default | `PLAIN_SETTINGS` |", "|---|---|---|"]
    for name, plain in PLAIN_SETTINGS.items():
        link = f"[`{name}`](configuration.md#train-{name})"
        lines.append(
            f"| {link} | {_literal_code(defaults[name])} | {_literal_code(plain)} |"
        )
    return "\n".join(lines)


def _first_sentence(text: str) -> str:
    text = " ".join(text.split())
    match = re.match(r"(.+?\.)(\s|$)", text)
    return match.group(1) if match else text


def options_glance() -> str:
    """Our training fields: default and the first sentence of the description."""
    from sae_lens_signaware.saes.config import SignAwareGatedTrainingSAEConfig

    lines = ["| field | default | what it does |", "|---|---|---|"]
    for row in field_rows(SignAwareGatedTrainingSAEConfig):
        if row["source"] != "ours":
            continue
        link = f"[`{row['name']}`](configuration.md#train-{row['name']})"
        lines.append(
            f"| {link} | {_escape_cell(row['default'])} "
            f"| {_escape_cell(_first_sentence(row['description']))} |"
        )
    return "\n".join(lines)


# --------------------------------------------------------------------------
# commands


def docstring_markdown(text: str) -> str:
    """A module docstring (reST-ish) as Markdown: ``::`` ends a sentence, and an
    indented block after a blank line is a code block (as in Markdown)."""
    text = inspect.cleandoc(text)
    # "``sae-signaware x``: does y" under the heading "sae-signaware x": "Does y"
    text = re.sub(
        r"\A``sae-signaware [^`]*``:\s*(\w)", lambda m: m.group(1).upper(), text
    )
    text = re.sub(r"\s*::$", ":", text, flags=re.MULTILINE)
    return text.replace("\\\\\n", "\\\n")


def _visible(action: argparse.Action) -> bool:
    return action.help != argparse.SUPPRESS and not isinstance(
        action, argparse._HelpAction
    )


def _long_choices(action: argparse.Action) -> bool:
    return bool(action.choices) and len(",".join(map(str, action.choices))) > 30


def _value(action: argparse.Action) -> str:
    if action.nargs == 0:
        return ""
    metavar = action.metavar or (
        "{" + ",".join(map(str, action.choices)) + "}"
        if action.choices and not _long_choices(action)
        else action.dest.upper()
    )
    if isinstance(metavar, tuple):
        metavar = " ".join(metavar)
    if action.nargs in ("+", "*"):
        return f"{metavar} [{metavar} ...]"
    return str(metavar)


def _help(action: argparse.Action, parser: argparse.ArgumentParser) -> str:
    text = action.help or ""
    if "%" in text:
        text = parser._get_formatter()._expand_help(action)
    if _long_choices(action) and not action.metavar:
        text = f"{text}; one of: {', '.join(map(str, action.choices))}".lstrip("; ")
    default = action.default
    if action.required:
        text = (text + " (required)").strip()
    elif (
        default not in (None, False, [], argparse.SUPPRESS)
        and "default" not in text
        and action.option_strings
    ):
        shown = (
            default if not isinstance(default, list) else " ".join(map(str, default))
        )
        text = f"{text} (default {shown})".strip()
    return text


def flags_table(parser: argparse.ArgumentParser) -> str:
    old: dict[str, list[str]] = {}
    for action in parser._actions:
        replacement = getattr(action, "replacement", None)
        if replacement:
            old.setdefault(replacement, []).extend(action.option_strings)
    lines = ["| flag | value | description |", "|---|---|---|"]
    for action in parser._actions:
        if not _visible(action) or isinstance(action, argparse._SubParsersAction):
            continue
        names = action.option_strings or [action.dest]
        flag = ", ".join(f"`{n}`" for n in names)
        old_names = [n for name in names for n in old.get(name, [])]
        description = _help(action, parser)
        if old_names:
            description += f" (old spelling: {', '.join(f'`{n}`' for n in old_names)})"
        value = _value(action)
        lines.append(
            f"| {flag} | {f'`{_escape_cell(value)}`' if value else ''} "
            f"| {_escape_cell(description)} |"
        )
    return "\n".join(lines) if len(lines) > 2 else ""


def parser_markdown(
    parser: argparse.ArgumentParser, level: int, description: str | None
) -> list[str]:
    parts = ["```text", parser.format_usage().strip(), "```", ""]
    if description:
        parts += [docstring_markdown(description), ""]
    table = flags_table(parser)
    if table:
        parts += [table, ""]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help for a in action._choices_actions}
            for name, sub in action.choices.items():
                parts += [f"{'#' * level} `{sub.prog}`", ""]
                parts += parser_markdown(
                    sub, level + 1, helps.get(name) or sub.description
                )
    return parts


def commands() -> str:
    from sae_lens_signaware_cli.cli import command_parser
    from sae_lens_signaware_cli.cli import commands as available

    found = available()
    parts = ["| command | what it does |", "|---|---|"]
    for command in found:
        anchor = f"sae-signaware-{command.name}"
        parts.append(
            f"| [`sae-signaware {command.name}`](#{anchor}) | {_escape_cell(command.help)} |"
        )
    parts.append("")
    for command in found:
        module = importlib.import_module(command.module)
        parts += [
            f"## `sae-signaware {command.name}` {{#sae-signaware-{command.name}}}",
            "",
        ]
        if command.passthrough:
            parts += train_markdown(module)
            continue
        parser = command_parser(command, module)
        parts += parser_markdown(parser, 3, getattr(module, "DESCRIPTION", None))
    return "\n".join(parts)


def train_markdown(module: Any) -> list[str]:
    """A passthrough command: its description and the flags it adds to the
    parser it passes the rest to."""
    parts = [
        docstring_markdown(getattr(module, "DESCRIPTION", module.__doc__ or "")),
        "",
    ]
    ours = getattr(module, "OUR_FLAGS", {})
    aliases = getattr(module, "ALIASES", {})
    if ours or aliases:
        parts += ["| flag | what it does |", "|---|---|"]
        by_dest: dict[str, list[str]] = {}
        for flag, dest in ours.items():
            by_dest.setdefault(dest, []).append(flag)
        for dest, flags in by_dest.items():
            names = ", ".join(f"`{f}`" for f in flags)
            parts.append(
                f"| {names} | this package's (`run_training(..., {dest}=True)`) |"
            )
        for flag, target in aliases.items():
            parts.append(f"| `{flag}` | the same as SAELens's `{target}` |")
        parts.append("")
    return parts


def deprecated_flags() -> str:
    from sae_lens_signaware_cli.flags import DEPRECATED

    lines = ["| old spelling | now |", "|---|---|"]
    lines += [f"| `{old}` | `{new}` |" for old, new in DEPRECATED.items()]
    return "\n".join(lines)


# --------------------------------------------------------------------------
# layout


def _summary(path: Path) -> str:
    try:
        doc = ast.get_docstring(ast.parse(path.read_text()))
    except SyntaxError:
        return ""
    if not doc:
        return ""
    first = doc.strip().split("\n\n")[0]
    return _escape_cell(first)


def _module_rows(files: Iterable[Path]) -> list[str]:
    rows = []
    for path in files:
        rel = path.relative_to(REPO).as_posix()
        if path.name == "__init__.py":
            rel = path.parent.relative_to(REPO).as_posix() + "/"
        rows.append(f"| `{rel}` | {_summary(path)} |")
    return rows


def package_table(package: Path) -> str:
    files = sorted(
        (p for p in package.rglob("*.py") if "__pycache__" not in p.parts),
        key=lambda p: (
            p.parent.relative_to(package).parts,
            p.name != "__init__.py",
            p.name,
        ),
    )
    return "\n".join(["| module | what it holds |", "|---|---|", *_module_rows(files)])


def layout() -> str:
    parts = []
    for title, folder in (
        ("The library: `sae_lens_signaware`", REPO / "sae_lens_signaware"),
        ("The commands: `sae_lens_signaware_cli`", REPO / "sae_lens_signaware_cli"),
        (
            "The studies: `studies/signaware_studies`",
            REPO / "studies" / "signaware_studies",
        ),
        ("The benchmark scripts: `benchmarks/`", REPO / "benchmarks"),
    ):
        if folder.is_dir():
            parts += [f"### {title}", "", package_table(folder), ""]
    return "\n".join(parts)


# --------------------------------------------------------------------------
# changelog


def changelog() -> str:
    text = (REPO / "CHANGELOG.md").read_text()
    return re.sub(r"\A# [^\n]*\n+", "", text)


GENERATORS: dict[str, Callable[[], str]] = {
    "config-training": config_training,
    "config-inference": config_inference,
    "plain-settings": plain_settings,
    "options-glance": options_glance,
    "commands": commands,
    "deprecated-flags": deprecated_flags,
    "layout": layout,
    "changelog": changelog,
}


def expand(markdown: str) -> str:
    """``markdown`` with every placeholder replaced by its generated block."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in GENERATORS:
            from mkdocs.exceptions import PluginError

            raise PluginError(f"unknown placeholder <!-- GENERATED:{name} -->")
        return GENERATORS[name]().rstrip() + "\n"

    return PLACEHOLDER.sub(replace, markdown)


def on_page_markdown(markdown: str, **_kwargs: Any) -> str:
    return expand(markdown)
