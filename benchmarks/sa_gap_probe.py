"""Where the SA-GSAE trails TopK, AbsTopK and its own one-sided gate: two probes.

    python benchmarks/sa_gap_probe.py [--out docs/results/sa_gap_probe.jsonl]

One cell (layer-1 MLP output), one target (L0 8), seed 0, the Pareto sweep's
settings otherwise (``CompareSettings``: 1000 steps of 1024 tokens, b_dec at
the mean, same metrics):

- learning rate 1e-3 instead of 3e-4, for the SA-GSAE and the architectures
  that beat it (the design study saw +0.044 EV from it on the SA-GSAE alone);
- the paper's ``"l1"`` penalty instead of our ``"l0"`` one, under ``target_l0``.

Resumable: a variant already in ``--out`` is not trained again.
"""

import argparse
import json
from pathlib import Path

import torch

from sae_lens_signaware_cli.assets import DEFAULT_MODEL, use_offline_hub
from signaware_studies.baselines import ARCHS, Arch, sa_variant
from signaware_studies.comparison.compare import (
    CompareSettings,
    load_cell,
    read_rows,
    train_one,
)

CELL, TARGET, SEED = "mlp_out", 8.0, 0
SA_L1 = Arch(
    "sa_l1", "SA-GSAE, paper's l1 penalty (H)", 1, True, sa_variant(sparsity="l1")
)
PROBES: dict[str, tuple[Arch, float]] = {
    **{
        f"{n} lr 1e-3": (ARCHS[n], 1e-3)
        for n in ("sa_gsae", "sa_one_sided", "abstopk", "topk", "gated")
    },
    "sa_l1 lr 3e-4": (SA_L1, 3e-4),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, default=Path("docs/results/sa_gap_probe.jsonl")
    )
    parser.add_argument("--cache-dir", type=Path, default=Path(".cache/activations"))
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    done = {r["probe"] for r in read_rows(args.out)}
    todo = [name for name in PROBES if name not in done]
    if todo:
        use_offline_hub()
        from sae_lens_signaware.models import load_hooked_model

        model = load_hooked_model(DEFAULT_MODEL)
        train, val, ce_tokens = load_cell(
            model, CELL, CompareSettings(), args.cache_dir
        )
    for name in todo:
        arch, lr = PROBES[name]
        settings = CompareSettings(lr=lr)
        row = train_one(
            CELL, arch, TARGET, SEED, train, val, ce_tokens, model, settings
        )
        row = {"probe": name, "lr": lr, **row}
        args.out.parent.mkdir(parents=True, exist_ok=True)
        with open(args.out, "a") as f:
            f.write(json.dumps(row) + "\n")
        print(
            f"{name}: L0 {row['l0']:.1f} EV {row['explained_variance']:.3f} "
            f"CE rec {row['ce_loss_score']:.3f} dead {row['dead_fraction']:.3f}",
            flush=True,
        )
    print(
        "| probe | L0 | EV | CE rec. | dead | both signs |\n|---|---|---|---|---|---|"
    )
    for r in read_rows(args.out):
        print(
            f"| {r['probe']} | {r['l0']:.1f} | {r['explained_variance']:.3f} | "
            f"{r['ce_loss_score']:.3f} | {r['dead_fraction']:.3f} | "
            f"{r['both_signs_share_of_live']:.2f} |"
        )


if __name__ == "__main__":
    main()
