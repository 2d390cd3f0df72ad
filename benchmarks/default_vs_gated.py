"""The default SA-GSAE at width H = 4 x d_model against SAELens's Gated SAE at 2H.

    python benchmarks/default_vs_gated.py [--out docs/results/default_vs_gated.json]

Both train with SAELens's trainer on the same cached tokens of the real model's
layer-1 MLP output. Gated is trained at several ``l1_coefficient`` values; its
explained variance at the SA-GSAE's L0 is interpolated linearly in log L0
between the two bracketing runs (never extrapolated). Prints a Markdown table
and a verdict line (L0 <= d_model / 8, EV above Gated 2H, bipolar share of live
latents >= 0.30, bipolar in ``analysis.census``'s strict sense); writes JSON.
"""

import argparse
import json
import platform
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from sae_lens import GatedTrainingSAEConfig

from sae_lens_signaware.activations import (
    cached_activations,
    read_texts,
    token_windows,
)
from sae_lens_signaware.evaluation import ce_loss_score, reconstruction_metrics
from sae_lens_signaware.outputs import write_atomic
from sae_lens_signaware.saes.config import SignAwareGatedTrainingSAEConfig
from sae_lens_signaware.training import TrainSettings, train_on_cached
from sae_lens_signaware_cli.assets import (
    DEFAULT_HOOK,
    DEFAULT_MODEL,
    tinystories_dir,
    use_offline_hub,
)
from signaware_studies.comparison.summary import interpolate_at_l0


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
    data = tinystories_dir()
    train = cached_activations(
        model, DEFAULT_HOOK, "train", n_train_tokens, data, cache_dir=cache_dir
    )
    val = cached_activations(
        model, DEFAULT_HOOK, "validation", 100_000, data, cache_dir=cache_dir
    )
    ce_tokens = token_windows(model, read_texts("validation", data), 128, 32_768)
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
        row.update(ce_loss_score(model, sae, ce_tokens, DEFAULT_HOOK))
        row["train_seconds"] = seconds
        rows.append(row)
        print(json.dumps(row), flush=True)

    ours = rows[0]
    gated_points = [(r["l0"], r["explained_variance"]) for r in rows[1:]]
    gated_ce_points = [(r["l0"], r["ce_loss_score"]) for r in rows[1:]]
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
        "both_signs_share_of_live": ours["both_signs_share_of_live"],
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
        ("ce_loss_score", "{:.3f}"),
        ("dead_fraction", "{:.3f}"),
        ("both_signs_share_of_live", "{:.2f}"),
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-tokens", type=int, default=1_000_000)
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--gated-l1", type=float, nargs="+", default=[15.0, 30.0])
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument(
        "--out", type=Path, default=Path("output/default_vs_gated.json")
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    result = run(args.train_tokens, args.steps, tuple(args.gated_l1))
    table = format_table(result)
    print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(args.out, json.dumps({**result, "table": table}, indent=1))


if __name__ == "__main__":
    main()
