"""Default SA-GSAE (width 4 x d_model) against SAELens's Gated SAE at twice the width.

    python benchmarks/default_vs_gated.py --out docs/results/default_vs_gated.json

Prints a Markdown table and the verdict on issue #2's bar; writes JSON.
"""

import argparse
import json
from pathlib import Path

import torch

from sae_lens_signaware.bench.default_vs_gated import format_table, run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-tokens", type=int, default=1_000_000)
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--gated-l1", type=float, nargs="+", default=[15.0, 30.0])
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument(
        "--out", type=Path, default=Path("docs/results/default_vs_gated.json")
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    result = run(args.train_tokens, args.steps, tuple(args.gated_l1))
    table = format_table(result)
    print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({**result, "table": table}, indent=1))


if __name__ == "__main__":
    main()
