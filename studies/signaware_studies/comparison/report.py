"""Markdown tables and PNG plots of an architecture comparison's summary."""

import io
from pathlib import Path
from typing import Any

from sae_lens_signaware.outputs import write_atomic
from signaware_studies.baselines import ARCHS, label

COLUMNS = [
    ("l0", "L0", "{:.1f}"),
    ("explained_variance", "EV", "{:.3f}"),
    ("dead_fraction", "dead", "{:.3f}"),
    ("ce_loss_score", "CE rec.", "{:.3f}"),
    ("both_signs_share_of_live", "both signs", "{:.2f}"),
    ("rarer_sign_share_of_both_signs", "rarer share", "{:.2f}"),
]
PLOTTED = [
    ("explained_variance", "explained variance"),
    ("dead_fraction", "dead fraction"),
    ("ce_loss_score", "CE loss recovered"),
]


def _cell(stat: dict[str, float] | None, fmt: str, n: int) -> str:
    if stat is None:
        return "-"
    text = fmt.format(stat["mean"])
    return text + (" ± " + fmt.format(stat["std"]) if n > 1 else "")


def _fmt(value: float | None, fmt: str = "{:.3f}") -> str:
    return "n/a" if value is None else fmt.format(value)


def format_results(summary: dict[str, Any], header: str = "") -> str:
    """Per cell: the table of runs (mean ± std over seeds) and the derived numbers."""
    lines = [header] if header else []
    order = list(ARCHS)
    for cell, derived in summary["cells"].items():
        groups = [g for g in summary["groups"] if g["cell"] == cell]
        groups.sort(
            key=lambda g: (
                order.index(g["arch"]) if g["arch"] in order else 99,
                g["target"],
            )
        )
        lines += [f"### {cell}", ""]
        names = ["arch", "d_sae", "target", "seeds"] + [c[1] for c in COLUMNS]
        lines += ["| " + " | ".join(names) + " |", "|" + "---|" * len(names)]
        for g in groups:
            n = len(g["seeds"])
            values = [label(g["arch"]), str(g["d_sae"]), f"{g['target']:g}", str(n)]
            values += [_cell(g.get(key), fmt, n) for key, _, fmt in COLUMNS]
            lines.append("| " + " | ".join(values) + " |")
        lines.append("")
        for gated, vs in derived["versus"].items():
            dom = vs["ev_dominance"]
            if dom["dominates"] is None:
                lines.append(
                    f"- EV vs L0, SA-GSAE (H) over {label(gated)}: no overlapping L0 range."
                )
            else:
                low, high = dom["overlap"]
                verdict = (
                    "strictly dominates" if dom["dominates"] else "does not dominate"
                )
                per_seed = vs["ev_dominance_per_seed"]
                lines.append(
                    f"- EV vs L0: SA-GSAE (H) {verdict} {label(gated)} on L0 "
                    f"{low:.1f}-{high:.1f} (min EV difference {dom['min_difference']:+.3f} "
                    f"over {len(dom['points'])} points, linear in log L0; dominates in "
                    f"{sum(bool(v) for v in per_seed.values())} of {len(per_seed)} seeds)."
                )
            lines.append(
                f"- Dead fraction, geometric mean ratio {label(gated)} / SA over targets "
                f"{vs['dead_ratio_targets']}: {_fmt(vs['dead_ratio'], '{:.2f}')} "
                "(zero dead floored at half a latent of the wider SAE, "
                f"{_fmt(vs['dead_ratio_floor'], '{:.2g}')})."
            )
        tied = derived["ev_tied_minus_untied"]
        lines.append(
            f"- EV tied minus untied thresholds (mean over targets): {_fmt(tied['mean'], '{:+.3f}')}."
        )
        for name, per_target in derived["ablations"].items():
            diffs = ", ".join(
                f"T={t}: {v['ev_minus_sa']:+.3f} (L0 {v['l0']:.1f}, dead {v['dead_fraction']:.3f}, "
                f"both signs {v['both_signs_share_of_live']:.2f})"
                for t, v in per_target.items()
            )
            lines.append(
                f"- Ablation {label(name)}, EV minus SA-GSAE: {diffs or 'n/a'}."
            )
        lines.append("")
    return "\n".join(lines)


def plot_cells(summary: dict[str, Any], out_dir: Path) -> list[Path]:
    """One PNG per cell: EV, dead fraction and CE loss recovered against L0."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    for cell in summary["cells"]:
        groups = [g for g in summary["groups"] if g["cell"] == cell]
        fig, axes = plt.subplots(1, len(PLOTTED), figsize=(5 * len(PLOTTED), 4))
        for ax, (metric, title) in zip(axes, PLOTTED, strict=True):
            for arch in ARCHS:
                points = sorted(
                    (g for g in groups if g["arch"] == arch and metric in g),
                    key=lambda g: g["l0"]["mean"],
                )
                if not points:
                    continue
                ax.errorbar(
                    [g["l0"]["mean"] for g in points],
                    [g[metric]["mean"] for g in points],
                    xerr=[g["l0"]["std"] for g in points],
                    yerr=[g[metric]["std"] for g in points],
                    marker="o",
                    capsize=3,
                    linestyle="--" if ARCHS[arch].ablation else "-",
                    label=label(arch),
                )
            ax.set_xscale("log")
            ax.set_xlabel("L0 (held-out)")
            ax.set_title(title)
            ax.grid(alpha=0.3)
        axes[0].legend(fontsize=7)
        fig.suptitle(f"{cell}: mean ± std over seeds")
        fig.tight_layout()
        path = out_dir / f"pareto_{cell}.png"
        png = io.BytesIO()
        fig.savefig(png, format="png", dpi=110)
        plt.close(fig)
        write_atomic(path, png.getvalue())
        paths.append(path)
    return paths
