"""Issue #2's bar: the default SA-GSAE at width H against SAELens's Gated SAE at 2H.

Both train with SAELens's ``SAETrainer`` on the same cached tokens of the real
model's layer-1 MLP output. Gated is trained at several ``l1_coefficient``
values; its explained variance at the SA-GSAE's L0 is interpolated linearly in
log L0 between the two bracketing runs (never extrapolated).
"""

import json
import math
import platform
import time
from dataclasses import asdict
from itertools import pairwise
from pathlib import Path
from typing import Any

import torch
from sae_lens import GatedTrainingSAEConfig

from sae_lens_signaware.assets import DEFAULT_HOOK, DEFAULT_MODEL, use_offline_hub
from sae_lens_signaware.bench.activations import (
    cached_activations,
    read_texts,
    token_windows,
)
from sae_lens_signaware.bench.cached_training import (
    TrainSettings,
    reconstruction_metrics,
    train_on_cached,
)
from sae_lens_signaware.bench.splice import ce_loss_recovered
from sae_lens_signaware.saes.config import SignAwareGatedTrainingSAEConfig


def interpolate_at_l0(points: list[tuple[float, float]], l0: float) -> float | None:
    """Value at ``l0`` from ``(l0, value)`` points, linear in log L0; None outside."""
    points = sorted(points)
    for (l0_a, v_a), (l0_b, v_b) in pairwise(points):
        if l0_a <= l0 <= l0_b:
            if l0_b == l0_a:
                return max(v_a, v_b)
            t = (math.log(l0) - math.log(l0_a)) / (math.log(l0_b) - math.log(l0_a))
            return v_a + t * (v_b - v_a)
    return None


def run(
    n_train_tokens: int = 1_000_000,
    n_steps: int = 1500,
    gated_l1: tuple[float, ...] = (15.0, 30.0),
    width_multiplier: int = 4,
    cache_dir: Path | None = Path(".cache/activations"),
    seed: int = 0,
) -> dict[str, Any]:
    use_offline_hub()
    from sae_lens_signaware.models import load_hooked_model

    model = load_hooked_model(DEFAULT_MODEL)
    d_model = model.cfg.d_model
    train = cached_activations(
        model, DEFAULT_HOOK, "train", n_train_tokens, cache_dir=cache_dir
    )
    val = cached_activations(
        model, DEFAULT_HOOK, "validation", 100_000, cache_dir=cache_dir
    )
    ce_tokens = token_windows(model, read_texts("validation"), 128, 32_768)
    settings = TrainSettings(n_steps=n_steps, seed=seed)
    common = dict(d_in=d_model, normalize_activations="expected_average_only_in")
    h = width_multiplier * d_model

    rows = []
    runs: list[tuple[str, Any]] = [
        ("sign_aware_gated", SignAwareGatedTrainingSAEConfig(d_sae=h, **common))  # type: ignore[arg-type]
    ] + [
        (
            f"gated l1={c:g}",
            GatedTrainingSAEConfig(d_sae=2 * h, l1_coefficient=c, **common),
        )  # type: ignore[arg-type]
        for c in gated_l1
    ]
    for name, cfg in runs:
        sae, seconds = train_on_cached(cfg, train, settings)
        row = {"run": name, "d_sae": cfg.d_sae, **reconstruction_metrics(sae, val)}
        row.update(ce_loss_recovered(model, sae, ce_tokens, DEFAULT_HOOK))
        row["train_seconds"] = seconds
        rows.append(row)
        print(json.dumps(row), flush=True)

    ours = rows[0]
    gated_points = [(r["l0"], r["explained_variance"]) for r in rows[1:]]
    gated_ce_points = [(r["l0"], r["ce_loss_recovered"]) for r in rows[1:]]
    gated_ev = interpolate_at_l0(gated_points, ours["l0"])
    verdict = {
        "sa_l0": ours["l0"],
        "l0_bar": d_model / 8,
        "l0_ok": ours["l0"] <= d_model / 8,
        "sa_explained_variance": ours["explained_variance"],
        "gated_2x_explained_variance_at_sa_l0": gated_ev,
        "gated_2x_ce_loss_recovered_at_sa_l0": interpolate_at_l0(
            gated_ce_points, ours["l0"]
        ),
        "ev_ok": gated_ev is not None and ours["explained_variance"] >= gated_ev,
        "bipolar_share_of_live": ours["bipolar_share_of_live"],
        "bipolar_ok": ours["bipolar_share_of_live"] >= 0.30,
    }
    return {
        "model": DEFAULT_MODEL,
        "hook": DEFAULT_HOOK,
        "train_tokens": n_steps * settings.batch_size,
        "validation_tokens": val.shape[0],
        "settings": asdict(settings),
        "sa_config": runs[0][1].to_dict(),
        "machine": f"{platform.machine()} {torch.get_num_threads()} threads",
        "rows": rows,
        "verdict": verdict,
        "when": time.strftime("%Y-%m-%d %H:%M"),
    }


def format_table(result: dict[str, Any]) -> str:
    cols = [
        ("run", "{}"),
        ("d_sae", "{}"),
        ("l0", "{:.1f}"),
        ("explained_variance", "{:.3f}"),
        ("ce_loss_recovered", "{:.3f}"),
        ("dead_fraction", "{:.3f}"),
        ("bipolar_share_of_live", "{:.2f}"),
        ("train_seconds", "{:.0f}"),
    ]
    lines = ["| " + " | ".join(c for c, _ in cols) + " |", "|" + "---|" * len(cols)]
    for row in result["rows"]:
        lines.append("| " + " | ".join(f.format(row[c]) for c, f in cols) + " |")
    v = result["verdict"]
    gated = v["gated_2x_explained_variance_at_sa_l0"]
    lines.append("")
    lines.append(
        f"SA-GSAE L0 {v['sa_l0']:.1f} (bar <= {v['l0_bar']:.0f}: {'ok' if v['l0_ok'] else 'MISSED'}); "
        f"EV {v['sa_explained_variance']:.3f} vs Gated 2x at that L0 "
        f"{'n/a (outside the Gated runs)' if gated is None else f'{gated:.3f}'} "
        f"({'ok' if v['ev_ok'] else 'MISSED'}); bipolar share of live latents "
        f"{v['bipolar_share_of_live']:.2f} (bar >= 0.30: {'ok' if v['bipolar_ok'] else 'MISSED'})"
    )
    return "\n".join(lines)
