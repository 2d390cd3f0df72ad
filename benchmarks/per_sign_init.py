"""The per-sign SA-GSAE's open choices, by experiment: initialisation and thresholds.

    python benchmarks/per_sign_init.py [--cell mlp_out] [--target 8]
        [--budget 1000000] [--lrs 0.01 0.003]
        [--output docs/results/quality/per_sign_init.json]

Trains the per-sign SA-GSAE (H) as issue 17's frame does (``frame_runner``:
SAELens's trainer on cached activations, the same schedule and measurements)
three ways at each lr:

- ``from_shared`` (the default): the negative side starts as the shared
  model's (``W_enc_neg = -W_enc``, biases negated), so step 0 computes what a
  shared SA-GSAE computes;
- ``independent``: ``W_enc_neg`` drawn afresh, with the column norms of
  ``W_enc`` (SAELens's init of an encoder), the negative biases at 0; the
  negative side then starts detecting directions unrelated to its decoder row;
- ``untied``: from the shared model, with ``tie_thresholds=False``.

Prints a table (EV on the report half, CE loss score, dead share, both-signs
share) and writes the rows as JSON.
"""

import argparse
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from frame_runner import Job, _Worker  # pyright: ignore[reportPrivateUsage]
from quality_archs import PER_SIGN_ARCHS

from sae_lens_signaware.outputs import write_atomic
from sae_lens_signaware.saes import SignAwareGatedTrainingSAE
from signaware_studies.baselines import Arch, sa_variant


@contextmanager
def independent_negative_side() -> Iterator[None]:
    """While open, a new per-sign SA-GSAE draws ``W_enc_neg`` afresh."""
    original = SignAwareGatedTrainingSAE.initialize_weights

    def initialize(self: SignAwareGatedTrainingSAE) -> None:
        original(self)
        if self.per_sign:
            with torch.no_grad():
                fresh = torch.randn_like(self.W_enc_neg)
                fresh *= self.W_enc.norm(dim=0) / fresh.norm(dim=0)
                self.W_enc_neg.copy_(fresh)
                for name in ("b_gate_neg", "b_mag_neg", "r_mag_neg"):
                    getattr(self, name).zero_()

    SignAwareGatedTrainingSAE.initialize_weights = initialize  # type: ignore[method-assign]
    try:
        yield
    finally:
        SignAwareGatedTrainingSAE.initialize_weights = original  # type: ignore[method-assign]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cell", default="mlp_out")
    parser.add_argument("--target", type=float, default=8.0)
    parser.add_argument("--budget", type=int, default=1_000_000)
    parser.add_argument("--lrs", type=float, nargs="+", default=[1e-2, 3e-3])
    parser.add_argument("--cache-dir", type=Path, default=Path(".cache/activations"))
    parser.add_argument(
        "--output", type=Path, default=Path("docs/results/quality/per_sign_init.json")
    )
    args = parser.parse_args()
    worker = _Worker(args.cache_dir, "cpu")
    base = PER_SIGN_ARCHS["sa_per_sign"]
    untied = Arch(
        "sa_per_sign_untied",
        "SA-GSAE per-sign, untied (H)",
        1,
        True,
        sa_variant(sign_encoders="per_sign", tie_thresholds=False),
    )
    variants: list[tuple[str, Arch, bool]] = [
        ("from_shared", base, False),
        ("independent", base, True),
        ("untied", untied, False),
    ]
    rows: list[dict[str, Any]] = []
    print(
        f"| init ({args.cell}, T {args.target:g}, {args.budget / 1e6:g}M) | lr | L0 | "
        "EV report | CE loss score | dead | both signs (of live) |\n"
        "|---|---|---|---|---|---|---|",
        flush=True,
    )
    for lr in args.lrs:
        for name, arch, independent in variants:
            job = Job(args.cell, arch.name, args.target, args.budget, lr, 0)
            if independent:
                with independent_negative_side():
                    row = worker.run(job, arch)
            else:
                row = worker.run(job, arch)
            row["variant"] = name
            rows.append(row)
            print(
                f"| {name} | {lr:g} | {row['l0']:.2f} | "
                f"{row['explained_variance']:.4f} | {row['ce_loss_score']:.4f} | "
                f"{row['dead_fraction']:.3f} | {row['both_signs_share_of_live']:.2f} |",
                flush=True,
            )
    write_atomic(args.output, json.dumps(rows, indent=1))
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
