"""Model cards for SAEs shared on the Hugging Face Hub.

``sae_card`` renders ``<sae_id>/README.md`` for one SAE (install and load
snippets, config, metrics, training config, Neuronpedia metadata);
``repo_card`` renders the repository's ``README.md`` listing every SAE in it.
Both start with the YAML front matter the Hub reads (``library_name``,
``license``, ``tags``). The repository card carries ``REPO_CARD_MARKER`` (an
HTML comment the Hub does not show), by which ``export`` tells its own card,
which it rewrites, from a README the user wrote, which it keeps.

Metric values that are not finite (NaN, +-inf) are left off the SAE card's
metrics table, with a note naming each: a number that says nothing should not
look like a result, and one bad metric should not block sharing the SAE.
"""

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from huggingface_hub import ModelCardData

from sae_lens_signaware.saes import ARCHITECTURE

TAGS = ("sae_lens", "sparse-autoencoder", "sign-aware-gated")
PACKAGE = "sae-lens-signaware"
REPO_PLACEHOLDER = "<repo_id>"
CONFIG_FIELDS = (
    "architecture",
    "d_in",
    "d_sae",
    "two_sided",
    "sign_encoders",
    "dtype",
    "apply_b_dec_to_input",
    "normalize_activations",
    "reshape_activations",
)
METADATA_FIELDS = (
    "model_name",
    "hook_name",
    "hook_head_index",
    "dataset_path",
    "context_size",
    "prepend_bos",
    "source_architecture",
    "jumprelu_layout",
)

MetricValue = float | int | str | bool | None

REPO_CARD_MARKER = (
    "<!-- sae-lens-signaware repository card: sae_lens_signaware.hub.export "
    "rewrites this file -->"
)
# the repository cards written before the marker existed
_UNMARKED_REPO_CARD = re.compile(
    r"^# Sparse autoencoders for SAELens\n\n\d+ SAE\(s\), one folder each;", re.M
)


def is_repo_card(text: str) -> bool:
    """Whether ``text`` is a repository card ``repo_card`` wrote (its marker, or
    the heading of the cards written before the marker)."""
    return REPO_CARD_MARKER in text or bool(_UNMARKED_REPO_CARD.search(text))


def is_finite(value: MetricValue) -> bool:
    """False for NaN and +-inf (floats, or anything with ``__float__``); True for
    other numbers, strings, booleans and None."""
    if value is None or isinstance(value, (str, bool, int)):
        return True
    try:
        return math.isfinite(value)
    except (TypeError, ValueError):
        return True


def finite_metrics(
    metrics: Mapping[str, MetricValue] | None,
) -> tuple[list[tuple[str, MetricValue]], list[tuple[str, MetricValue]]]:
    """``metrics`` split into the rows a card shows and the non-finite ones it
    leaves out, each in the given order."""
    items = list((metrics or {}).items())
    return (
        [(k, v) for k, v in items if is_finite(v)],
        [(k, v) for k, v in items if not is_finite(v)],
    )


@dataclass(frozen=True)
class SaeSummary:
    """What the repository card says about one SAE, read from its ``cfg.json``."""

    sae_id: str
    architecture: str
    d_in: int
    d_sae: int
    model_name: str | None = None
    hook_name: str | None = None
    neuronpedia_id: str | None = None

    @classmethod
    def from_cfg(cls, sae_id: str, cfg: Mapping[str, Any]) -> "SaeSummary":
        meta = cfg.get("metadata") or {}
        return cls(
            sae_id=sae_id,
            architecture=str(cfg.get("architecture", "standard")),
            d_in=int(cfg["d_in"]),
            d_sae=int(cfg["d_sae"]),
            model_name=meta.get("model_name"),
            hook_name=meta.get("hook_name"),
            neuronpedia_id=meta.get("neuronpedia_id"),
        )


def hook_layer(hook_name: str | None) -> int | None:
    """The block index in a TransformerLens hook name (``blocks.3.hook_x`` -> 3)."""
    match = re.match(r"blocks\.(\d+)\.", hook_name or "")
    return int(match.group(1)) if match else None


def front_matter(license: str, base_model: str | None = None) -> str:
    data = ModelCardData(
        library_name="saelens", license=license, tags=list(TAGS), base_model=base_model
    )
    return f"---\n{data.to_yaml()}\n---"


def _cell(value: Any) -> str:
    if isinstance(value, float):
        text = f"{value:.6g}"
    elif value is None:
        text = ""
    elif isinstance(value, (str, int, bool)):
        text = str(value)
    else:
        text = json.dumps(value, default=str)
    return text.replace("|", "\\|").replace("\n", " ")


def _table(header: tuple[str, str], rows: Sequence[tuple[str, Any]]) -> str:
    lines = [f"| {header[0]} | {header[1]} |", "| --- | --- |"]
    lines += [f"| {_cell(k)} | {_cell(v)} |" for k, v in rows]
    return "\n".join(lines)


def install_snippet() -> str:
    return f"```bash\npip install {PACKAGE}\n```"


def load_snippet(repo_id: str | None, sae_ids: Sequence[str]) -> str:
    repo = repo_id or REPO_PLACEHOLDER
    lines = [
        "```python",
        f"import sae_lens_signaware  # registers the {ARCHITECTURE!r} architecture with SAELens",
        "from sae_lens import SAE",
        "",
    ]
    for i, sae_id in enumerate(sae_ids):
        name = "sae" if len(sae_ids) == 1 else f"sae_{i}"
        lines.append(
            f"{name} = SAE.from_pretrained({json.dumps(repo)}, {json.dumps(sae_id)})"
        )
    lines.append("```")
    return "\n".join(lines)


def neuronpedia_fields(cfg: Mapping[str, Any]) -> dict[str, Any]:
    """The fields a Neuronpedia upload needs, from an SAE's config dict."""
    meta = cfg.get("metadata") or {}
    return {
        "neuronpedia_id": meta.get("neuronpedia_id"),
        "model": meta.get("model_name"),
        "layer": hook_layer(meta.get("hook_name")),
        "hook_name": meta.get("hook_name"),
        "d_sae": cfg.get("d_sae"),
        "architecture": cfg.get("architecture"),
        "dataset": meta.get("dataset_path"),
        "context_size": meta.get("context_size"),
        "prepend_bos": meta.get("prepend_bos"),
    }


def _metrics_section(metrics: Mapping[str, MetricValue] | None) -> str:
    rows, left_out = finite_metrics(metrics)
    parts = [_table(("metric", "value"), rows)] if rows else []
    if not metrics:
        parts.append("None given.")
    parts += [
        f"Metric {json.dumps(name)} was not finite ({value}) and is left out."
        for name, value in left_out
    ]
    return "\n\n".join(parts)


def _neuronpedia_section(cfg: Mapping[str, Any]) -> str:
    fields = neuronpedia_fields(cfg)
    np_id = fields["neuronpedia_id"]
    intro = (
        f"Neuronpedia ID: `{np_id}`."
        if np_id
        else "No Neuronpedia ID yet; these are the fields an upload needs."
    )
    parts = [intro, "", "```json", json.dumps(fields, indent=2), "```"]
    if cfg.get("architecture") == ARCHITECTURE:
        parts += [
            "",
            "Latents are signed. Neuronpedia and other SAELens tooling expect "
            "non-negative activations: convert with "
            "`sae_lens_signaware.convert.to_jumprelu(sae)`, an exact `jumprelu` SAE "
            "with `2 * d_sae` latents (latent `i`'s positive part at `i`, its "
            "negative part at `d_sae + i`).",
        ]
    return "\n".join(parts)


def sae_card(
    cfg: Mapping[str, Any],
    sae_id: str,
    *,
    metrics: Mapping[str, MetricValue] | None = None,
    license: str = "mit",
    repo_id: str | None = None,
    base_model: str | None = None,
) -> str:
    """``<sae_id>/README.md`` for the SAE whose ``cfg.json`` is ``cfg``.

    ``metrics`` values that are not finite are left out of the table, with a
    note naming each (see the module docstring).
    """
    meta = cfg.get("metadata") or {}
    config_rows = [(k, cfg[k]) for k in CONFIG_FIELDS if k in cfg]
    config_rows += [(k, meta[k]) for k in METADATA_FIELDS if meta.get(k) is not None]
    details = meta.get("training_architecture_details") or {}
    what = f"`{cfg.get('architecture')}` sparse autoencoder"
    if meta.get("model_name") and meta.get("hook_name"):
        what += f" on `{meta['model_name']}` at `{meta['hook_name']}`"
    sections = [
        front_matter(license, base_model),
        f"# {sae_id}\n\nA {what}, for [SAELens](https://github.com/decoderesearch/SAELens)"
        f" with the `{PACKAGE}` extension.",
        "## Install\n\n" + install_snippet(),
        "## Load\n\n" + load_snippet(repo_id, [sae_id]),
        "## Config\n\n" + _table(("field", "value"), config_rows),
        "## Metrics\n\n" + _metrics_section(metrics),
        "## Training configuration\n\n"
        + (
            f"Trained as `{meta.get('training_architecture', cfg.get('architecture'))}`.\n\n"
            + _table(("option", "value"), list(details.items()))
            if details
            else "Not recorded."
        ),
        "## Neuronpedia\n\n" + _neuronpedia_section(cfg),
    ]
    return "\n\n".join(sections) + "\n"


def repo_card(
    saes: Sequence[SaeSummary],
    *,
    license: str = "mit",
    repo_id: str | None = None,
    base_model: str | None = None,
) -> str:
    """The repository's ``README.md``: one row and one load line per SAE, marked
    with ``REPO_CARD_MARKER``."""
    saes = sorted(saes, key=lambda s: s.sae_id)
    rows = [
        "| SAE id | architecture | model | hook | d_in | d_sae | Neuronpedia |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for s in saes:
        cells = [
            f"[{s.sae_id}]({s.sae_id}/README.md)",
            s.architecture,
            s.model_name,
            s.hook_name,
            s.d_in,
            s.d_sae,
            s.neuronpedia_id or "",
        ]
        rows.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    sections = [
        front_matter(license, base_model),
        REPO_CARD_MARKER,
        "# Sparse autoencoders for SAELens\n\n"
        f"{len(saes)} SAE(s), one folder each; each folder's README.md has its "
        "config, metrics, training configuration and Neuronpedia metadata.",
        "\n".join(rows),
        "## Install\n\n" + install_snippet(),
        "## Load\n\n" + load_snippet(repo_id, [s.sae_id for s in saes]),
    ]
    return "\n\n".join(sections) + "\n"
