"""Derived numbers of an architecture comparison, from its rows (one per finished run).

- Per (cell, arch, target): mean and sample standard deviation over seeds.
- ``versus[gated]`` for each Gated variant (controlled and fixed ``l1``):
- Dominance: each architecture's EV-vs-L0 curve is its per-target means, joined
  by straight lines in log L0 (``interpolate_at_l0``). On the overlap of the two
  curves' L0 ranges, SA-GSAE strictly dominates Gated when its EV is higher at
  every breakpoint of either curve inside the overlap (the overlap's ends
  included). Between breakpoints both curves are linear in log L0, so so is
  their difference: higher at every breakpoint means higher everywhere.
  The same test is made on CE loss recovered, against every other baseline,
  and per seed (each seed's own curves), to show how often it holds.
- Dead-fraction ratio: the geometric mean over targets of
  ``max(dead_gated, floor) / max(dead_sa, floor)``, with each side's per-target
  mean over seeds and one ``floor`` for both: half a latent of the wider SAE
  (``0.5 / d_sae`` of Gated's 2H), so that no dead on either side reads as 1.
"""

import math
import statistics
from collections import defaultdict
from itertools import pairwise
from typing import Any

from signaware_studies.baselines import ARCHS, GATED_VARIANTS, SA

METRICS = (
    "l0",
    "explained_variance",
    "dead_fraction",
    "ce_loss_score",
    "both_signs_share_of_live",
    "bipolar_share_of_live",
    "rarer_sign_share_of_both_signs",
    "negative_share_of_firing",
)
Point = tuple[float, float]


def interpolate_at_l0(points: list[Point], l0: float) -> float | None:
    """Value at ``l0`` from ``(l0, value)`` points, linear in log L0; None outside."""
    points = sorted(points)
    for (l0_a, v_a), (l0_b, v_b) in pairwise(points):
        if l0_a <= l0 <= l0_b:
            if l0_b == l0_a:
                return max(v_a, v_b)
            t = (math.log(l0) - math.log(l0_a)) / (math.log(l0_b) - math.log(l0_a))
            return v_a + t * (v_b - v_a)
    return None


def aggregate(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per (cell, arch, target): ``{metric: {"mean", "std"}}`` over seeds."""
    groups: dict[tuple[str, str, float], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[(row["cell"], row["arch"], float(row["target"]))].append(row)
    out = []
    for (cell, arch, target), members in sorted(groups.items()):
        entry: dict[str, Any] = {
            "cell": cell,
            "arch": arch,
            "target": target,
            "d_sae": members[0]["d_sae"],
            "seeds": sorted(r["seed"] for r in members),
        }
        for metric in METRICS:
            values = [float(r[metric]) for r in members if metric in r]
            if values:
                std = statistics.stdev(values) if len(values) > 1 else 0.0
                entry[metric] = {"mean": statistics.fmean(values), "std": std}
        out.append(entry)
    return out


def curve(
    groups: list[dict[str, Any]], cell: str, arch: str, metric: str
) -> list[Point]:
    """``(mean L0, mean metric)`` per target of ``arch`` in ``cell``, sorted by L0."""
    return sorted(
        (g["l0"]["mean"], g[metric]["mean"])
        for g in groups
        if g["cell"] == cell and g["arch"] == arch and metric in g
    )


def _value_at(points: list[Point], l0: float) -> float | None:
    exact = [v for x, v in points if x == l0]  # also a curve of a single point
    return max(exact) if exact else interpolate_at_l0(points, l0)


def pareto_dominance(ours: list[Point], theirs: list[Point]) -> dict[str, Any]:
    """Does ``ours`` have strictly higher values than ``theirs`` on their common L0 range?

    ``dominates`` is None when the L0 ranges do not overlap.
    """
    result: dict[str, Any] = {"overlap": None, "points": [], "dominates": None}
    if not ours or not theirs:
        return result
    low = max(min(p[0] for p in ours), min(p[0] for p in theirs))
    high = min(max(p[0] for p in ours), max(p[0] for p in theirs))
    if low > high:
        return result
    xs = sorted({x for x, _ in ours + theirs if low <= x <= high})
    points = []
    for x in xs:
        a, b = _value_at(ours, x), _value_at(theirs, x)
        assert a is not None and b is not None
        points.append({"l0": x, "ours": a, "theirs": b, "difference": a - b})
    result["overlap"] = [low, high]
    result["points"] = points
    result["dominates"] = all(p["difference"] > 0 for p in points)
    result["min_difference"] = min(p["difference"] for p in points)
    return result


def geometric_mean_ratio(
    numerators: list[float],
    denominators: list[float],
    floor_numerator: float,
    floor_denominator: float,
) -> float | None:
    """``exp(mean(log(max(n, floor_n) / max(d, floor_d))))``; None if empty."""
    if not numerators or len(numerators) != len(denominators):
        return None
    logs = [
        math.log(max(n, floor_numerator) / max(d, floor_denominator))
        for n, d in zip(numerators, denominators, strict=True)
    ]
    return math.exp(statistics.fmean(logs))


def seed_curve(
    rows: list[dict[str, Any]], cell: str, arch: str, seed: int, metric: str
) -> list[Point]:
    """``(L0, metric)`` per target of one seed's runs of ``arch`` in ``cell``."""
    return sorted(
        (float(r["l0"]), float(r[metric]))
        for r in rows
        if r["cell"] == cell and r["arch"] == arch and r["seed"] == seed
    )


def _by_target(groups: list[dict[str, Any]], cell: str, arch: str) -> dict[float, Any]:
    return {g["target"]: g for g in groups if g["cell"] == cell and g["arch"] == arch}


def versus(
    rows: list[dict[str, Any]], groups: list[dict[str, Any]], cell: str, gated: str
) -> dict[str, Any]:
    """SA-GSAE against one Gated variant in ``cell``: dominance and dead ratio."""
    sa, other = _by_target(groups, cell, SA), _by_target(groups, cell, gated)
    seeds = sorted(
        {r["seed"] for r in rows if r["cell"] == cell and r["arch"] == gated}
    )
    common = sorted(set(sa) & set(other))
    floor = (
        0.5 / max(other[common[0]]["d_sae"], sa[common[0]]["d_sae"]) if common else None
    )
    return {
        "ev_dominance": pareto_dominance(
            curve(groups, cell, SA, "explained_variance"),
            curve(groups, cell, gated, "explained_variance"),
        ),
        "ce_dominance": pareto_dominance(
            curve(groups, cell, SA, "ce_loss_score"),
            curve(groups, cell, gated, "ce_loss_score"),
        ),
        "ev_dominance_per_seed": {
            str(seed): pareto_dominance(
                seed_curve(rows, cell, SA, seed, "explained_variance"),
                seed_curve(rows, cell, gated, seed, "explained_variance"),
            )["dominates"]
            for seed in seeds
        },
        "dead_ratio": (
            geometric_mean_ratio(
                [other[t]["dead_fraction"]["mean"] for t in common],
                [sa[t]["dead_fraction"]["mean"] for t in common],
                floor or 0.0,
                floor or 0.0,
            )
            if common
            else None
        ),
        "dead_ratio_floor": floor,
        "dead_ratio_targets": common,
    }


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """``{"groups": [...], "cells": {cell: derived numbers}}``."""
    groups = aggregate(rows)
    cells: dict[str, Any] = {}
    for cell in sorted({g["cell"] for g in groups}):
        sa = _by_target(groups, cell, SA)
        entry: dict[str, Any] = {
            "versus": {
                name: versus(rows, groups, cell, name)
                for name in GATED_VARIANTS
                if _by_target(groups, cell, name)
            }
        }
        entry["ev_sa_over_baselines"] = {
            name: pareto_dominance(
                curve(groups, cell, SA, "explained_variance"),
                curve(groups, cell, name, "explained_variance"),
            )
            for name, arch in ARCHS.items()
            if name != SA and not arch.ablation
        }
        ablations: dict[str, Any] = {}
        for name, arch in ARCHS.items():
            if not arch.ablation:
                continue
            theirs = _by_target(groups, cell, name)
            ablations[name] = {
                str(t): {
                    "ev_minus_sa": theirs[t]["explained_variance"]["mean"]
                    - sa[t]["explained_variance"]["mean"],
                    "l0": theirs[t]["l0"]["mean"],
                    "dead_fraction": theirs[t]["dead_fraction"]["mean"],
                    "both_signs_share_of_live": theirs[t]["both_signs_share_of_live"][
                        "mean"
                    ],
                }
                for t in sorted(set(sa) & set(theirs))
            }
        entry["ablations"] = ablations
        untied = ablations.get("sa_untied", {})
        tied_minus_untied = [-v["ev_minus_sa"] for v in untied.values()]
        entry["ev_tied_minus_untied"] = {
            "per_target": dict(zip(untied, tied_minus_untied, strict=True)),
            "mean": statistics.fmean(tied_minus_untied) if tied_minus_untied else None,
        }
        cells[cell] = entry
    return {"groups": groups, "cells": cells}
