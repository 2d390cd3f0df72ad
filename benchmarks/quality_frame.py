"""Issue 10's fair frame: each architecture at its own best learning rate, selected
on one half of the validation tokens and reported on the other.

    python benchmarks/quality_frame.py [--cells mlp_out] [--targets 8 16]
        [--budgets 1000000] [--lrs 3e-4 1e-3 3e-3] [--archs sa_gsae,...]
        [--seeds 0] [--save-dir DIR] [--variant NAME=field:json,...]
        [--out docs/results/quality/runs.jsonl] [--table-only]

Every run: SAELens's trainer on cached activations of layer 1 of
TinyStories-656K (``signaware_studies.comparison.compare``'s cells), ``b_dec`` at the
training mean, batches of 1024 tokens, a linear lr warm-up over the first 5%
of steps and a linear decay to 0 over the last 20% (the same for every
architecture), seed 0. The training cache holds ``TRAIN_TOKENS`` tokens (all
the training text); a budget larger than that repeats it (``passes`` in each
row). Validation: the first 100k validation tokens, cut at a window boundary
into a *select* half (the first) and a *report* half (the second). Each
architecture is trained at every lr of ``--lrs``; the table shows, per
(cell, target, budget), the run whose select-half EV is highest, with its
report-half numbers. Every SAE is evaluated in its inference form
(``process_state_dict_for_saving_inference``: BatchTopK as SAELens's JumpReLU
with the fitted threshold, the SA-GSAE as its Bi-Jump-ReLU).

Signed SAEs also get the sign diagnosis (``sign_diagnosis``) on the report
half: how their L0 and reconstruction energy split between each latent's
majority and rarer sign, and what the rarer-sign firings buy in explained
variance compared with the same number of the weakest firings.

Seed 0 selects the lr; ``--seeds 1 2`` with ``--lrs`` at the selected lr adds
seeds, summarised (mean, range, verdicts on the means) by ``print_seeds``.
``--save-dir`` keeps each trained SAE (inference form) for
``benchmarks/consolidation.py``.

Resumable: a (cell, arch, target, budget, lr, seed) already in ``--out`` is skipped.
Rows of other settings (``--variant`` names a training option under test) are
kept apart by their ``arch`` name.
"""

import argparse
import json
import time
from pathlib import Path
from typing import Any

import torch
from quality_archs import (
    BATCH,
    FRAME_ARCHS,
    WIDTH_MULTIPLIER,
    frame_activations,
    split_validation,
    to_inference,
)
from quality_tables import print_antipodal, print_bar_matrix, print_seeds, print_tables

from sae_lens_signaware.analysis.census import compute_census
from sae_lens_signaware.analysis.sign_diagnosis import antipodal_shares, sign_diagnosis
from sae_lens_signaware.evaluation import reconstruction_metrics
from sae_lens_signaware.training import TrainSettings, train_on_cached
from signaware_studies.baselines import Arch, sa_variant
from signaware_studies.comparison.compare import NORMALIZE, CompareSettings, read_rows


def train_frame(
    arch: Arch,
    target: float,
    lr: float,
    budget: int,
    train: torch.Tensor,
    select: torch.Tensor,
    report: torch.Tensor,
    seed: int = 0,
    save_to: Path | None = None,
) -> dict[str, Any]:
    """Train one run and measure it; ``save_to``: also save the inference SAE
    there (``SAE.save_model``'s folder: ``cfg.json`` and safetensors)."""
    d_in = train.shape[1]
    d_sae = arch.width * WIDTH_MULTIPLIER * d_in
    n_steps = budget // BATCH
    settings = TrainSettings(
        n_steps=n_steps,
        batch_size=BATCH,
        lr=lr,
        seed=seed,
        lr_warm_up_steps=max(1, n_steps // 20),
        lr_decay_steps=n_steps // 5,
        b_dec_init="mean",
    )
    cfg = arch.make(d_in, d_sae, target, normalize_activations=NORMALIZE)
    sae, seconds = train_on_cached(
        cfg, train, settings, l0_target=arch.l0_target(target)
    )
    inference = to_inference(sae)
    if save_to is not None:
        inference.save_model(save_to)
    row: dict[str, Any] = {
        "arch": arch.name,
        "label": arch.label,
        "target": target,
        "lr": lr,
        "budget": budget,
        "n_steps": n_steps,
        "passes": n_steps * BATCH / train.shape[0],
        "seed": seed,
        "d_sae": d_sae,
        "select_ev": reconstruction_metrics(inference, select)["explained_variance"],
        **reconstruction_metrics(inference, report),
        "train_seconds": seconds,
    }
    row.update(antipodal_shares(inference, report))
    if arch.signed:
        row.update(sign_diagnosis(inference, report))
        census = compute_census(inference, report)
        row["diag_rarer_share_mean"] = float(
            torch.minimum(census.n_pos, census.n_neg)[census.alive].double().sum()
            / census.n_fired.sum()
        )
    return row


def parse_variant(spec: str) -> Arch:
    """``NAME=field:value,field:value``: the SA-GSAE with those config overrides
    (a field the config lacks is refused here, before any training)."""
    name, _, rest = spec.partition("=")
    overrides: dict[str, Any] = {}
    for item in filter(None, rest.split(",")):
        key, _, value = item.partition(":")
        overrides[key] = json.loads(value)
    return Arch(name, f"SA-GSAE {name} (H)", 1, True, sa_variant(**overrides))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, default=Path("docs/results/quality/runs.jsonl")
    )
    parser.add_argument("--cells", default="mlp_out")
    parser.add_argument("--targets", type=float, nargs="+", default=[8.0, 16.0])
    parser.add_argument("--budgets", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--lrs", type=float, nargs="+", default=[3e-4, 1e-3, 3e-3])
    parser.add_argument("--archs", default=",".join(FRAME_ARCHS))
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        help="NAME=field:json,...: also train the SA-GSAE with these overrides",
    )
    parser.add_argument("--cache-dir", type=Path, default=Path(".cache/activations"))
    parser.add_argument("--table-only", action="store_true")
    parser.add_argument(
        "--seeds",
        type=int,
        nargs="+",
        default=[0],
        help="seeds; seed 0 selects the lr, run others with --lrs set to it",
    )
    parser.add_argument(
        "--max-dead",
        type=float,
        default=None,
        help="also print the bar with each lr chosen among runs with at most this "
        "dead fraction (report half)",
    )
    parser.add_argument(
        "--save-dir",
        type=Path,
        default=None,
        help="also save each trained SAE (inference form) in a folder here",
    )
    parser.add_argument(
        "--max-runs", type=int, default=None, help="stop after this many runs"
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    archs = dict(FRAME_ARCHS)
    names = [n for n in args.archs.split(",") if n]
    unknown = [n for n in names if n not in archs]
    if unknown:
        parser.error(f"unknown --archs {unknown} (known: {', '.join(archs)})")
    for spec in args.variant:
        try:
            v = parse_variant(spec)
        except ValueError as error:
            parser.error(f"--variant {spec}: {error}")
        archs[v.name] = v
        names.append(v.name)
    rows = read_rows(args.out)
    done = {
        (
            r["cell"],
            r["arch"],
            float(r["target"]),
            int(r["budget"]),
            float(r["lr"]),
            int(r.get("seed", 0)),
        )
        for r in rows
    }
    n_runs = 0
    if not args.table_only:
        for cell in args.cells.split(","):
            todo = [
                (budget, target, name, lr, seed)
                for seed in args.seeds
                for budget in args.budgets
                for target in args.targets
                for name in names
                for lr in args.lrs
                if (cell, name, target, budget, lr, seed) not in done
            ]
            if not todo:
                continue
            acts = frame_activations(cell, ("train", "validation"), args.cache_dir)
            train, val = acts["train"], acts["validation"]
            hook = CompareSettings().hook(cell)
            select, report = split_validation(val)
            print(
                f"[frame] {cell}: {train.shape[0]} train tokens, select "
                f"{select.shape[0]}, report {report.shape[0]}",
                flush=True,
            )
            for budget, target, name, lr, seed in todo:
                if args.max_runs is not None and n_runs >= args.max_runs:
                    break
                start = time.perf_counter()
                save_to = None
                if args.save_dir is not None:
                    tag = f"{cell}_{name}_T{target:g}_{budget}_lr{lr:g}_s{seed}"
                    save_to = args.save_dir / tag
                row = train_frame(
                    archs[name],
                    target,
                    lr,
                    budget,
                    train,
                    select,
                    report,
                    seed=seed,
                    save_to=save_to,
                )
                row = {"cell": cell, "hook": hook, **row}
                args.out.parent.mkdir(parents=True, exist_ok=True)
                with open(args.out, "a") as f:
                    f.write(json.dumps(row) + "\n")
                rows.append(row)
                n_runs += 1
                print(
                    f"[frame] {cell} {name} T={target:g} lr={lr:g} s{seed} "
                    f"{budget / 1e6:g}M: L0 {row['l0']:.1f} EV sel "
                    f"{row['select_ev']:.3f} rep {row['explained_variance']:.3f} "
                    f"dead {row['dead_fraction']:.3f} "
                    f"({row['train_seconds']:.0f}s train, "
                    f"{time.perf_counter() - start:.0f}s total)",
                    flush=True,
                )
    print_tables(rows, args.lrs)
    print_bar_matrix(rows)
    if args.max_dead is not None:
        print_bar_matrix(rows, args.max_dead)
    print_seeds(rows)
    print_antipodal(rows)


if __name__ == "__main__":
    main()
