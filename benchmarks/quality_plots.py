"""Convergence plots of issue 10's frame: a figure per cell. Left, explained
variance (report half) against L0 for each architecture, one line style per
token budget; right, explained variance against the token budget at each
target run at more than one budget. Every point is at the architecture's
selected learning rate (seed 0).

    python benchmarks/quality_plots.py [--runs docs/results/quality/runs.jsonl]
        [--out-dir docs/results/quality]
"""

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from quality_archs import FRAME_ARCHS  # noqa: E402
from quality_tables import best_rows  # noqa: E402

from signaware_studies.comparison.compare import read_rows  # noqa: E402

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
        fig, (ax, ax_budget) = plt.subplots(1, 2, figsize=(13, 5))
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
        for a, arch in enumerate(FRAME_ARCHS.values()):
            for t, target in enumerate(sorted({k[2] for k in best if k[0] == cell})):
                points = sorted(
                    (bud, r["explained_variance"])
                    for (c, name, tar, bud), r in best.items()
                    if (c, name, tar) == (cell, arch.name, target)
                )
                if len(points) < 2:
                    continue
                ax_budget.plot(
                    [p[0] / 1e6 for p in points],
                    [p[1] for p in points],
                    STYLES[t % len(STYLES)],
                    marker="o",
                    color=f"C{a}",
                    label=f"{arch.label}, T {target:g}",
                )
        ax_budget.set_xscale("log", base=2)
        ax_budget.set_xlabel("training tokens (millions)")
        ax_budget.set_ylabel("explained variance (report half)")
        ax_budget.set_title(f"{cell}: explained variance against training length")
        ax_budget.grid(alpha=0.3)
        if ax_budget.lines:
            ax_budget.legend(fontsize=7)
        else:
            ax_budget.set_visible(False)
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
