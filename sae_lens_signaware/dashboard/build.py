"""Build the static dashboard of a signed dictionary.

``build_dashboard`` reads ``n_tokens`` tokens of TinyStories text, runs the model
to the SAE's hook once, and writes to ``out_dir``::

    index.html            census summary; every latent, ranked by ``Census.ranking``
    latent_<i>.html       both polarities side by side (contexts, histogram, logits)
    json/latent_<i>.json  Neuronpedia feature records (2i, 2i+1 and the signed one)
    data.json             census summary, per-latent census rows, calibration, steering
"""

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from sae_lens.saes.sae import SAE
from transformer_lens import HookedTransformer

from sae_lens_signaware.activations import (
    bos_token_id,
    collect_activations,
    token_windows,
)
from sae_lens_signaware.analysis.calibration import Calibration, compute_calibration
from sae_lens_signaware.analysis.census import Census, compute_census
from sae_lens_signaware.analysis.latent_report import LatentReport, latent_reports
from sae_lens_signaware.analysis.steering import steer_latent
from sae_lens_signaware.dashboard.html import index_page, latent_href, latent_page
from sae_lens_signaware.dashboard.neuronpedia import feature_records


@dataclass
class DashboardData:
    census: Census
    calibration: Calibration
    reports: list[LatentReport]
    steering: dict[int, dict[str, Any]]
    meta: dict[str, Any]


def sae_hook_name(sae: SAE[Any]) -> str:
    """The hook recorded in the SAE's metadata; a ValueError if there is none."""
    hook = getattr(sae.cfg.metadata, "hook_name", None)
    if not hook:
        raise ValueError(
            "the SAE's metadata names no hook_name; pass the hook explicitly"
        )
    return str(hook)


def default_latents(census: Census, k: int) -> list[int]:
    """The first ``k`` latents of ``census.ranking()`` that fired at all."""
    return [i for i in census.ranking().tolist() if census.alive[i]][:k]


@torch.no_grad()
def collect_dashboard_data(
    sae: SAE[Any],
    model: HookedTransformer,
    tokens: torch.Tensor,
    latents: Sequence[int] | None = None,
    hook_name: str | None = None,
    top_k: int = 12,
    n_contexts: int = 8,
    n_logits: int = 10,
    steer_windows: int = 16,
    census_kwargs: dict[str, Any] | None = None,
) -> DashboardData:
    """Census of every latent over ``tokens`` (BOS left out); reports, calibration
    and steering (at ``a = max |f_i|``) of ``latents`` (default: ``top_k`` ranked)."""
    hook = hook_name or sae_hook_name(sae)
    sae.eval()
    acts = collect_activations(model, tokens, hook)
    bos = bos_token_id(model)
    keep = (
        tokens.ne(bos).flatten()
        if bos is not None
        else torch.ones(acts.shape[0], dtype=torch.bool)
    )
    census = compute_census(sae, acts[keep], **(census_kwargs or {}))
    chosen = list(latents) if latents is not None else default_latents(census, top_k)
    bad = [i for i in chosen if not 0 <= i < sae.cfg.d_sae]
    if bad:
        raise ValueError(f"latents {bad} out of range for d_sae={sae.cfg.d_sae}")
    calibration = compute_calibration(sae, acts[keep], chosen)
    reports = latent_reports(
        sae,
        model,
        tokens,
        chosen,
        hook,
        acts=acts,
        n_contexts=n_contexts,
        n_logits=n_logits,
    )
    steering: dict[int, dict[str, Any]] = {}
    if steer_windows > 0:
        for report in reports:
            if report.max_abs > 0:
                steering[report.latent] = steer_latent(
                    model,
                    sae,
                    tokens[:steer_windows],
                    report.latent,
                    report.max_abs,
                    hook,
                )
    meta = {
        "model": model.cfg.model_name,
        "hook_name": hook,
        "n_tokens": census.n_tokens,
        "context_size": int(tokens.shape[1]),
        "d_sae": sae.cfg.d_sae,
        "architecture": sae.cfg.architecture(),
        "split": "given tokens",
    }
    return DashboardData(census, calibration, reports, steering, meta)


def _jsonable(value: Any) -> Any:
    """Floats that JSON can hold (NaN and inf become None)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def _write_json(path: Path, value: Any) -> None:
    path.write_text(json.dumps(_jsonable(value), indent=1, allow_nan=False))


def write_dashboard(
    data: DashboardData, out_dir: Path, sae_id: str | None = None
) -> Path:
    """Write the site for ``data``; return the path of ``index.html``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "json").mkdir(exist_ok=True)
    census, meta = data.census, data.meta
    layer = (
        meta["hook_name"].split(".")[1]
        if meta["hook_name"].startswith("blocks.")
        else "0"
    )
    sae_id = (
        sae_id
        or f"{layer}-{meta['hook_name'].split('.')[-1].removeprefix('hook_')}-signaware"
    )
    rows = [{"latent": i, **census.latent(i)} for i in census.ranking().tolist()]
    by_latent = {row["latent"]: row for row in rows}
    for report in data.reports:
        i = report.latent
        calib = data.calibration.latent(i)
        html = latent_page(report, by_latent[i], calib, data.steering.get(i), meta)
        (out_dir / latent_href(i)).write_text(html, encoding="utf-8")
        records = feature_records(
            report, by_latent[i], meta["model"], sae_id, meta["hook_name"]
        )
        _write_json(out_dir / "json" / f"latent_{i}.json", records)
    pages = {r.latent for r in data.reports}
    summary = census.summary()
    (out_dir / "index.html").write_text(
        index_page(rows, summary, pages, meta), encoding="utf-8"
    )
    _write_json(
        out_dir / "data.json",
        {
            "meta": {**meta, "sae_id": sae_id},
            "summary": summary,
            "latents": rows,
            "pages": sorted(pages),
            "calibration": {i: data.calibration.latent(i) for i in sorted(pages)},
            "steering": data.steering,
        },
    )
    return out_dir / "index.html"


def build_dashboard(
    sae: SAE[Any],
    model: HookedTransformer,
    out_dir: str | Path,
    texts: Sequence[str],
    latents: Sequence[int] | None = None,
    n_tokens: int = 16_384,
    hook_name: str | None = None,
    context_size: int = 128,
    top_k: int = 12,
    n_contexts: int = 8,
    steer_windows: int = 16,
    sae_id: str | None = None,
    source: str = "given texts",
) -> Path:
    """Write the dashboard of ``sae`` on ``model`` over the first ``n_tokens``
    tokens of ``texts`` to ``out_dir``; return ``index.html``.

    ``latents=None`` picks the ``top_k`` first of ``Census.ranking`` (bipolar
    first, then by the rarer sign's firing rate, activity x bipolarity / 2).
    Steering sets each latent to ``+-max |f_i|`` on the first ``steer_windows``
    windows (0: skip). ``source`` names the text on the pages.
    """
    tokens = token_windows(model, list(texts), context_size, n_tokens)
    data = collect_dashboard_data(
        sae,
        model,
        tokens,
        latents,
        hook_name,
        top_k=top_k,
        n_contexts=n_contexts,
        steer_windows=steer_windows,
    )
    data.meta["split"] = source
    return write_dashboard(data, Path(out_dir), sae_id)
