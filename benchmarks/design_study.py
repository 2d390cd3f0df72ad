"""Run the SA-GSAE design study (resumable) and print its table.

python benchmarks/design_study.py --out docs/results/design_study.jsonl [--only NAME ...]
"""

import argparse
from pathlib import Path

import torch

from sae_lens_signaware.bench.design_study import VARIANTS, format_rows, run_study


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, default=Path("docs/results/design_study.jsonl")
    )
    parser.add_argument("--only", nargs="+", choices=list(VARIANTS))
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(format_rows(run_study(args.out, args.only, n_steps=args.steps)))


if __name__ == "__main__":
    main()
