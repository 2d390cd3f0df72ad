"""Issue 10's pair-consolidation protocol on SAEs saved by ``quality_frame.py``.

    python benchmarks/quality_frame.py ... --save-dir .cache/quality
    python benchmarks/consolidation.py --cell mlp_out --target 8 --budget 16000000
        [--nonneg topk_2h] [--signed sa_gsae,abstopk] [--save-dir .cache/quality]

For each signed SAE (width H) against the non-negative SAE (width 2H), all at
the learning rate ``quality_frame`` selected, on the report half of the
validation tokens: how many antipodal pairs the 2H SAE holds, how many of them
one signed latent absorbs, and how many of the signed SAE's both-signs latents
no 2H pair (or no 2H direction at all) supports
(``analysis/consolidation.py`` defines each count), and how many of the 2H
SAE's live directions some latent side of the H SAE reproduces ("covered"; the
one-sided gate at H is in ``--signed`` as the reference for that count, with no
both-signs latents). Prints a table and writes ``--json``.
"""

import argparse
import json
from pathlib import Path
from typing import Any

from quality_archs import frame_activations, split_validation
from quality_tables import best_rows

from sae_lens_signaware.analysis.consolidation import (
    consolidate_directions,
    live_rows,
    live_signed_rows,
)
from sae_lens_signaware.loading import load_sae
from sae_lens_signaware.outputs import write_atomic
from signaware_studies.comparison.compare import read_rows

CUTS = ((-0.5, 0.7), (-0.7, 0.7), (-0.5, 0.5))


def saved_folder(
    save_dir: Path, rows: list[dict[str, Any]], cell: str, arch: str, t: float, b: int
) -> Path:
    best = best_rows(rows).get((cell, arch, t, b))
    if best is None:
        raise SystemExit(f"no quality_frame run of {arch} for {cell} T={t:g} {b}")
    folder = save_dir / f"{cell}_{arch}_T{t:g}_{b}_lr{float(best['lr']):g}_s0"
    if not folder.is_dir():
        raise SystemExit(f"{folder} is missing: rerun quality_frame with --save-dir")
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cell", default="mlp_out")
    parser.add_argument("--target", type=float, default=8.0)
    parser.add_argument("--budget", type=int, default=16_000_000)
    parser.add_argument("--nonneg", default="topk_2h")
    parser.add_argument("--signed", default="sa_gsae,abstopk,sa_one_sided")
    parser.add_argument("--save-dir", type=Path, default=Path(".cache/quality"))
    parser.add_argument(
        "--runs", type=Path, default=Path("docs/results/quality/runs.jsonl")
    )
    parser.add_argument(
        "--json", type=Path, default=Path("docs/results/quality/consolidation.json")
    )
    parser.add_argument("--cache-dir", type=Path, default=Path(".cache/activations"))
    args = parser.parse_args()
    rows = read_rows(args.runs)
    key = (args.cell, args.target, args.budget)
    nonneg = load_sae(
        saved_folder(args.save_dir, rows, args.cell, args.nonneg, *key[1:])
    )
    val = frame_activations(args.cell, ("validation",), args.cache_dir)["validation"]
    report = split_validation(val)[1]
    results = json.loads(args.json.read_text()) if args.json.exists() else []
    print(
        f"\n### Pair consolidation: {args.cell}, target L0 {args.target:g}, "
        f"{args.budget / 1e6:g}M tokens, against {args.nonneg}\n\n"
        "| signed SAE | pair cut | match cut | 2H live | pairs (share of live) | "
        "absorbed | signed both-signs | pair-supported | supported | "
        "one side | neither | 2H covered |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|"
    )
    nonneg_rows = live_rows(nonneg, report)
    for arch in filter(None, args.signed.split(",")):
        signed = load_sae(saved_folder(args.save_dir, rows, args.cell, arch, *key[1:]))
        signed_rows, sides = live_signed_rows(signed, report)
        for pair_cut, match_cut in CUTS:
            s = consolidate_directions(
                nonneg_rows, signed_rows, sides, pair_cut, match_cut
            ).summary()
            print(
                f"| {arch} | {pair_cut} | {match_cut} | {s['n_live_nonneg']} | "
                f"{s['n_pairs']} ({s['paired_share_of_live_nonneg']:.2f}) | "
                f"{s['n_absorbed']} ({s['absorbed_share_of_pairs']:.2f}) | "
                f"{s['n_both_signs']} | {s['pair_supported_share']:.2f} | "
                f"{s['supported_share']:.2f} | {s['one_side_supported_share']:.2f} | "
                f"{s['unsupported_share']:.2f} | "
                f"{s['covered_share_of_live_nonneg']:.2f} |"
            )
            results = [
                r
                for r in results
                if (r["cell"], r["target"], r["budget"], r["nonneg"], r["signed"])
                != (*key, args.nonneg, arch)
                or (r["pair_cut"], r["match_cut"]) != (pair_cut, match_cut)
            ]
            results.append(
                {
                    "cell": args.cell,
                    "target": args.target,
                    "budget": args.budget,
                    "nonneg": args.nonneg,
                    "signed": arch,
                    "pair_cut": pair_cut,
                    "match_cut": match_cut,
                    **s,
                }
            )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(args.json, json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
