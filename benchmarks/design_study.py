"""Design study: variants of the SA-GSAE training scheme on real activations.

Each variant overrides fields of the default ``SignAwareGatedTrainingSAEConfig``
and trains with SAELens's ``SAETrainer`` on the same cached tokens (layer-1 MLP
output of the real TinyStories model). Results go to a JSON-lines file, one row
per variant, so a study can be resumed and extended.

    python benchmarks/design_study.py [--out docs/results/design_study.jsonl] [--only NAME ...]
"""

import argparse
import json
from pathlib import Path
from typing import Any

import torch

from sae_lens_signaware.activations import cached_activations
from sae_lens_signaware.evaluation import reconstruction_metrics
from sae_lens_signaware.saes.config import (
    PLAIN_SETTINGS,
    SignAwareGatedTrainingSAEConfig,
)
from sae_lens_signaware.training import TrainSettings, train_on_cached
from sae_lens_signaware_cli.assets import (
    DEFAULT_HOOK,
    DEFAULT_MODEL,
    tinystories_dir,
    use_offline_hub,
)

# The paper's scheme: plain settings, except that the auxiliary loss sees a
# detached decoder as the paper writes it.
PAPER_AS_WRITTEN = {
    **PLAIN_SETTINGS,
    "aux_detach_decoder": True,
    "reset_dead_thresholds": True,
}

# Every variant starts from this baseline: the default scheme as it stood when
# the study ran (bandwidth 0.1); the study's "bandwidth 0.3" row is what made
# 0.3 the default.
STUDY_BASELINE: dict[str, Any] = {"bandwidth": 0.1}

VARIANTS: dict[str, dict[str, Any]] = {
    "paper as written, l1=1": {**PAPER_AS_WRITTEN, "l1_coefficient": 1.0},
    "paper as written, l1=3": {**PAPER_AS_WRITTEN, "l1_coefficient": 3.0},
    "paper + unit-norm encoder + data init, l1=3": {
        "sparsity": "l1",
        "l1_coefficient": 3.0,
        "ste_to_input": False,
    },
    "l0 without STE to input": {"ste_to_input": False},
    "baseline": {},
    "baseline, l0=2": {"l0_coefficient": 2.0},
    "baseline, l0=8": {"l0_coefficient": 8.0},
    "no unit-norm encoder": {"unit_norm_encoder": False},
    "no data init (threshold_init=0.5)": {"threshold_init_l0": None},
    "bandwidth 0.03": {"bandwidth": 0.03},
    "bandwidth 0.3": {"bandwidth": 0.3},
    "aux 0.1": {"aux_coefficient": 0.1},
    "aux 0 (ablation)": {"aux_coefficient": 0.0},
    "aux moves decoder": {"aux_detach_decoder": False},
    "untied thresholds": {"tie_thresholds": False},
    "one-sided gate, width 2H (ablation)": {"two_sided": False, "width_multiplier": 8},
    "lr 1e-3": {"lr": 1e-3},
    "bandwidth 0.3, aux moves decoder": {"bandwidth": 0.3, "aux_detach_decoder": False},
    "bandwidth 0.3, aux moves decoder, l0=3": {
        "bandwidth": 0.3,
        "aux_detach_decoder": False,
        "l0_coefficient": 3.0,
    },
}


def run_study(
    out: Path,
    names: list[str] | None = None,
    n_steps: int = 1500,
    n_train_tokens: int = 1_000_000,
    cache_dir: Path = Path(".cache/activations"),
) -> list[dict[str, Any]]:
    """Train each variant not already in ``out``; return all rows of ``out``."""
    use_offline_hub()
    from sae_lens_signaware.models import load_hooked_model

    done = {}
    if out.exists():
        done = {
            row["variant"]: row for row in map(json.loads, out.read_text().splitlines())
        }
    todo = [n for n in (names or list(VARIANTS)) if n not in done]
    if todo:
        model = load_hooked_model(DEFAULT_MODEL)
        data = tinystories_dir()
        train = cached_activations(
            model, DEFAULT_HOOK, "train", n_train_tokens, data, cache_dir=cache_dir
        )
        val = cached_activations(
            model, DEFAULT_HOOK, "validation", 100_000, data, cache_dir=cache_dir
        )
        d_model = model.cfg.d_model
    for name in todo:
        overrides = {**STUDY_BASELINE, **VARIANTS[name]}
        lr = overrides.pop("lr", 3e-4)
        width = overrides.pop("width_multiplier", 4) * d_model
        cfg = SignAwareGatedTrainingSAEConfig(
            d_in=d_model,
            d_sae=width,
            normalize_activations="expected_average_only_in",
            **overrides,
        )
        sae, seconds = train_on_cached(
            cfg, train, TrainSettings(n_steps=n_steps, lr=lr)
        )
        row = {
            "variant": name,
            "d_sae": width,
            "lr": lr,
            "overrides": overrides,
            **reconstruction_metrics(sae, val),
            "train_seconds": seconds,
            "threshold_resets": getattr(sae, "n_threshold_resets", 0),
        }
        print(json.dumps(row), flush=True)
        out.parent.mkdir(parents=True, exist_ok=True)
        with open(out, "a") as f:
            f.write(json.dumps(row) + "\n")
        done[name] = row
        torch.manual_seed(0)
    return list(done.values())


def format_rows(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| variant | d_sae | L0 | explained var. | dead | both signs (of live) | neg. share of firing |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['variant']} | {r['d_sae']} | {r['l0']:.1f} | {r['explained_variance']:.3f} | "
            f"{r['dead_fraction']:.3f} | {r.get('both_signs_share_of_live', r.get('bipolar_share_of_live', 0.0)):.2f} | {r['negative_share_of_firing']:.2f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("output/design_study.jsonl"))
    parser.add_argument("--only", nargs="+", choices=list(VARIANTS))
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(format_rows(run_study(args.out, args.only, n_steps=args.steps)))


if __name__ == "__main__":
    main()
