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
from frame_runner import Job, row_key, run_jobs
from per_sign_tables import print_per_sign_frame
from quality_archs import cache_cells, frame_archs, parse_variant
from quality_tables import print_antipodal, print_bar_matrix, print_seeds, print_tables

from signaware_studies.comparison.compare import read_rows


def plan_jobs(groups: list[dict[str, Any]], done: set[Any]) -> list[Job]:
    """The jobs of each plan group, in order: a group names ``cells``,
    ``targets``, ``budgets``, ``archs``, ``lrs`` and ``seeds`` (lists); every
    combination not in ``done`` is a job."""
    jobs: list[Job] = []
    for g in groups:
        for seed in g.get("seeds", [0]):
            for budget in g["budgets"]:
                for cell in g["cells"]:
                    for target in g["targets"]:
                        for arch in g["archs"]:
                            for lr in g["lrs"]:
                                job = Job(
                                    cell,
                                    arch,
                                    float(target),
                                    int(budget),
                                    float(lr),
                                    int(seed),
                                )
                                if job.key() not in done and job not in jobs:
                                    jobs.append(job)
    return jobs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--frame",
        choices=["issue10", "per_sign"],
        default="issue10",
        help="issue 10's architectures and tables, or issue 17's (per-sign)",
    )
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--cells", default="mlp_out")
    parser.add_argument("--targets", type=float, nargs="+", default=[8.0, 16.0])
    parser.add_argument("--budgets", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--lrs", type=float, nargs="+", default=[3e-4, 1e-3, 3e-3])
    parser.add_argument("--archs", default=None)
    parser.add_argument(
        "--plan",
        type=Path,
        default=None,
        help="a JSON list of job groups ({cells, targets, budgets, archs, lrs, "
        "seeds}), run in order instead of the flags' product",
    )
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
    parser.add_argument("--jobs", type=int, default=1, help="worker processes")
    parser.add_argument(
        "--cache-device", default="cpu", help="device that computes missing caches"
    )
    parser.add_argument(
        "--cache-threads", type=int, default=1, help="torch threads for the caches"
    )
    parser.add_argument(
        "--devices",
        default="cpu",
        help="comma-separated devices the workers take in turn (cpu, cuda)",
    )
    parser.add_argument(
        "--minutes",
        type=float,
        default=None,
        help="start no run after this many minutes (the rows so far are kept)",
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    for spec in args.variant:
        try:
            parse_variant(spec)
        except ValueError as error:
            parser.error(f"--variant {spec}: {error}")
    per_sign = args.frame == "per_sign"
    archs = frame_archs(args.frame, args.variant)
    out = args.out or Path(
        "docs/results/quality/" + ("per_sign_runs.jsonl" if per_sign else "runs.jsonl")
    )
    if args.plan is not None:
        groups = json.loads(args.plan.read_text())
    else:
        names = [n for n in (args.archs or ",".join(archs)).split(",") if n]
        names += [parse_variant(s).name for s in args.variant]
        groups = [
            {
                "cells": args.cells.split(","),
                "targets": args.targets,
                "budgets": args.budgets,
                "archs": names,
                "lrs": args.lrs,
                "seeds": args.seeds,
            }
        ]
    unknown = sorted({a for g in groups for a in g["archs"] if a not in archs})
    if unknown:
        parser.error(f"unknown archs {unknown} (known: {', '.join(archs)})")
    rows = read_rows(out)
    if not args.table_only:
        jobs = plan_jobs(groups, {row_key(r) for r in rows})
        cells = sorted({j.cell for j in jobs})
        torch.set_num_threads(args.cache_threads)
        # caches first (each split tokenized once): the workers only read them
        cache_cells(cells, ("train", "validation"), args.cache_dir, args.cache_device)
        torch.set_num_threads(1)
        deadline = None if args.minutes is None else time.time() + 60 * args.minutes
        print(f"[frame] {len(jobs)} runs on {args.jobs} workers", flush=True)
        for row in run_jobs(
            jobs,
            archs,
            out,
            args.cache_dir,
            args.jobs,
            args.devices.split(","),
            deadline,
            (args.frame, tuple(args.variant)),
        ):
            rows.append(row)
            ce = row.get("ce_loss_score", float("nan"))
            print(
                f"[frame] {row['cell']} {row['arch']} T={row['target']:g} "
                f"lr={row['lr']:g} s{row['seed']} {row['budget'] / 1e6:g}M: "
                f"L0 {row['l0']:.1f} EV sel {row['select_ev']:.3f} rep "
                f"{row['explained_variance']:.3f} CE {ce:.3f} dead "
                f"{row['dead_fraction']:.3f} ({row['train_seconds']:.0f}s train, "
                f"{row['wall_seconds']:.0f}s, {row['device']})",
                flush=True,
            )
    if per_sign:
        print_per_sign_frame(rows)
        return
    print_tables(rows, args.lrs)
    print_bar_matrix(rows)
    if args.max_dead is not None:
        print_bar_matrix(rows, args.max_dead)
    print_seeds(rows)
    print_antipodal(rows)


if __name__ == "__main__":
    main()
