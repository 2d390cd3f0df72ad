"""Run the SA-GSAE design study (resumable) and print its table.

python benchmarks/design_study.py --out docs/results/design_study.jsonl [--only NAME ...]
"""

import argparse
from pathlib import Path

from sae_lens_signaware.bench.design_study import VARIANTS, format_rows, run_study


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, default=Path("docs/results/design_study.jsonl")
    )
    parser.add_argument("--only", nargs="+", choices=list(VARIANTS))
    parser.add_argument("--steps", type=int, default=1500)
    args = parser.parse_args()
    print(format_rows(run_study(args.out, args.only, n_steps=args.steps)))


if __name__ == "__main__":
    main()
