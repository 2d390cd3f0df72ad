"""Convergence plots of issue 10's frame: a plot per cell, explained variance
(report half) against L0 for each architecture, one line style per token
budget, each point at the architecture's selected learning rate (seed 0).

    python benchmarks/quality_plots.py [--runs docs/results/quality/runs.jsonl]
        [--out-dir docs/results/quality]
"""

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from quality_frame import FRAME_ARCHS, best_rows  # noqa: E402

from sae_lens_signaware.comparison.compare import read_rows  # noqa: E402

STYLES = ["-", "--", ":", "-."]
MARKERS = ["o", "s", "^", "D"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--runs", type=Path, default=Path("docs/results/quality/runs.jsonl")
    )
    parser.add_argument("--out-dir", type=Path, default=Path("docs/results/quality"))
    args = parser.parse_args()
    best = best_rows(read_rows(args.runs))
    for cell in sorted({k[0] for k in best}):
        budgets = sorted({k[3] for k in best if k[0] == cell})
        fig, ax = plt.subplots(figsize=(7, 5))
        for a, arch in enumerate(FRAME_ARCHS.values()):
            color = f"C{a}"
            for b, budget in enumerate(budgets):
                points = sorted(
                    (r["l0"], r["explained_variance"])
                    for (c, name, _, bud), r in best.items()
                    if (c, name, bud) == (cell, arch.name, budget)
                )
                if not points:
                    continue
                ax.plot(
                    [p[0] for p in points],
                    [p[1] for p in points],
                    STYLES[b % len(STYLES)],
                    marker=MARKERS[b % len(MARKERS)],
                    color=color,
                    label=f"{arch.label}, {budget / 1e6:g}M",
                )
        ax.set_xscale("log", base=2)
        ax.set_xlabel("L0 (report half)")
        ax.set_ylabel("explained variance (report half)")
        ax.set_title(f"{cell}: each architecture at its selected lr, seed 0")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, ncol=2)
        fig.tight_layout()
        path = args.out_dir / f"convergence_{cell}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
