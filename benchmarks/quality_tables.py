"""The tables and verdict lines of issue 10's frame, from its rows
(``quality_frame.py --table-only`` prints them all)."""

from typing import Any

from quality_archs import FRAME_ARCHS

Key = tuple[str, str, float, int]


def best_rows(
    rows: list[dict[str, Any]], max_dead: float | None = None
) -> dict[Key, dict[str, Any]]:
    """Per (cell, arch, target, budget), the seed-0 run with the highest
    select-half EV (other seeds rerun the selected lr: ``print_seeds``).

    ``max_dead``: choose only among runs whose dead fraction is at most this;
    where no lr qualifies, the run with the fewest dead latents."""

    def rank(r: dict[str, Any]) -> tuple[bool, float]:
        if max_dead is None:
            return True, r["select_ev"]
        ok = r["dead_fraction"] <= max_dead
        return ok, r["select_ev"] if ok else -r["dead_fraction"]

    best: dict[Key, dict[str, Any]] = {}
    for r in rows:
        if int(r.get("seed", 0)) != 0:
            continue
        key = (r["cell"], r["arch"], float(r["target"]), int(r["budget"]))
        if key not in best or rank(r) > rank(best[key]):
            best[key] = r
    return best


def lrs_done(rows: list[dict[str, Any]], key: Key) -> list[float]:
    return sorted(
        float(r["lr"])
        for r in rows
        if (r["cell"], r["arch"], float(r["target"]), int(r["budget"])) == key
        and int(r.get("seed", 0)) == 0
    )


def selected_lr_runs(rows: list[dict[str, Any]]) -> dict[Key, list[dict[str, Any]]]:
    """Per (cell, arch, target, budget), every seed's run at the lr that
    ``best_rows`` selected on seed 0."""
    best = best_rows(rows)
    runs: dict[Key, list[dict[str, Any]]] = {}
    for r in rows:
        key = (r["cell"], r["arch"], float(r["target"]), int(r["budget"]))
        if key in best and float(r["lr"]) == float(best[key]["lr"]):
            runs.setdefault(key, []).append(r)
    return runs


def _in_frame(arch: str) -> bool:
    """The frame's architectures and the SA-GSAE at its earlier defaults (the
    diagnosis tables leave out ``--variant`` runs; their rows keep the keys)."""
    return arch in FRAME_ARCHS or arch.endswith("_v1")


BAR = (
    ("abstopk", 0.0),
    ("sa_one_sided", 0.0),
    ("topk_2h", -0.01),
)


def print_tables(rows: list[dict[str, Any]], lrs: list[float]) -> None:
    best = best_rows(rows)
    groups = sorted({(k[0], k[2], k[3]) for k in best})
    archs = list(dict.fromkeys(r["arch"] for r in rows))
    for cell, target, budget in groups:
        passes = next(
            r["passes"]
            for r in rows
            if (r["cell"], float(r["target"]), int(r["budget"]))
            == (cell, target, budget)
        )
        print(
            f"\n### {cell}, target L0 {target:g}, {budget / 1e6:g}M tokens "
            f"({passes:.2f} passes)\n"
        )
        print(
            "| architecture | best lr (of tried) | L0 | EV select | EV report | "
            "dead | both signs (of live) |\n|---|---|---|---|---|---|---|"
        )
        for arch in archs:
            r = best.get((cell, arch, target, budget))
            if r is None:
                continue
            tried = lrs_done(rows, (cell, arch, target, budget))
            mark = "" if len(tried) == len(lrs) else f", {len(tried)}/{len(lrs)} lrs"
            print(
                f"| {r['label']} | {r['lr']:g} ({mark.lstrip(', ') or 'all'}) | "
                f"{r['l0']:.1f} | {r['select_ev']:.3f} | "
                f"{r['explained_variance']:.3f} | {r['dead_fraction']:.3f} | "
                f"{r['both_signs_share_of_live']:.2f} |"
            )
        sa = best.get((cell, "sa_gsae", target, budget))
        if sa is None:
            continue
        for other, margin in BAR:
            o = best.get((cell, other, target, budget))
            if o is None:
                continue
            diff = sa["explained_variance"] - o["explained_variance"]
            ok = diff >= margin
            print(
                f"VERDICT {cell} T={target:g} {budget / 1e6:g}M: SA-GSAE(H) - "
                f"{o['label']} = {diff:+.3f} (bar >= {margin:+.2f}): "
                f"{'MET' if ok else f'MISSED by {margin - diff:.3f}'}"
            )
        dead_ok = sa["dead_fraction"] <= 0.01
        both_ok = sa["both_signs_share_of_live"] >= 0.5
        print(
            f"VERDICT {cell} T={target:g} {budget / 1e6:g}M: SA-GSAE(H) dead "
            f"{sa['dead_fraction']:.3f} (<= 0.01: {'MET' if dead_ok else 'MISSED'}), "
            f"both signs {sa['both_signs_share_of_live']:.2f} of live "
            f"(>= 0.5: {'MET' if both_ok else 'MISSED'})"
        )
    diag = [r for r in best.values() if "diag_ev" in r and _in_frame(r["arch"])]
    if diag:
        print(
            "\n### Sign diagnosis (report half, best-lr runs)\n\n"
            "| cell | T | budget | arch | L0 | L0 rarer sign | energy rarer | "
            "EV | EV w/o rarer | EV w/o as many weakest | cos(mean x+, mean x-) |\n"
            "|---|---|---|---|---|---|---|---|---|---|---|"
        )
        for r in sorted(
            diag, key=lambda r: (r["cell"], r["target"], r["budget"], r["arch"])
        ):
            print(
                f"| {r['cell']} | {r['target']:g} | {r['budget'] / 1e6:g}M | "
                f"{r['label']} | {r['diag_l0']:.2f} | {r['diag_l0_rarer']:.2f} | "
                f"{r['diag_energy_rarer']:.3f} | {r['diag_ev']:.3f} | "
                f"{r['diag_ev_without_rarer']:.3f} | "
                f"{r['diag_ev_without_weakest']:.3f} | {r['diag_rarer_cos']:+.2f} |"
            )


def print_bar_matrix(rows: list[dict[str, Any]], max_dead: float | None = None) -> None:
    """One line per (cell, target, budget): the SA-GSAE's EV at its selected lr
    and its margin over each architecture of the bar (bold when the bar is met);
    ``max_dead`` as in ``best_rows``, for every architecture alike."""
    best = best_rows(rows, max_dead)
    groups = sorted({(k[0], k[2], k[3]) for k in best if k[1] == "sa_gsae"})
    others = [o for o, _ in BAR]
    labels = [FRAME_ARCHS[o].label for o in others]
    how = (
        "" if max_dead is None else f", lr chosen among runs with dead <= {max_dead:g}"
    )
    print(
        f"\n### The bar at a glance (seed 0, each architecture at its selected lr{how})\n\n"
        "| cell | T | budget | SA-GSAE (H) EV | "
        + " | ".join(f"minus {label}" for label in labels)
        + " | dead | both signs |\n|"
        + "---|" * (6 + len(others))
    )
    for cell, target, budget in groups:
        sa = best[(cell, "sa_gsae", target, budget)]
        cells = []
        for other, margin in BAR:
            o = best.get((cell, other, target, budget))
            if o is None:
                cells.append("-")
                continue
            diff = sa["explained_variance"] - o["explained_variance"]
            cells.append(f"**{diff:+.3f}**" if diff >= margin else f"{diff:+.3f}")
        dead, both = sa["dead_fraction"], sa["both_signs_share_of_live"]
        print(
            f"| {cell} | {target:g} | {budget / 1e6:g}M | "
            f"{sa['explained_variance']:.3f} (lr {sa['lr']:g}) | "
            + " | ".join(cells)
            + f" | {'**' if dead <= 0.01 else ''}{dead:.3f}{'**' if dead <= 0.01 else ''}"
            + f" | {'**' if both >= 0.5 else ''}{both:.2f}{'**' if both >= 0.5 else ''} |"
        )


def print_seeds(rows: list[dict[str, Any]]) -> None:
    """Mean and range over seeds at each architecture's selected (seed-0) lr,
    with the bar's verdicts on the means; only groups with more than one seed."""
    runs = selected_lr_runs(rows)
    groups = sorted(
        {(k[0], k[2], k[3]) for k, v in runs.items() if len({r["seed"] for r in v}) > 1}
    )
    for cell, target, budget in groups:
        print(
            f"\n### Seeds: {cell}, target L0 {target:g}, {budget / 1e6:g}M tokens "
            "(selected lr)\n\n| architecture | seeds | EV report mean | min | max | "
            "dead mean |\n|---|---|---|---|---|---|"
        )
        means: dict[str, float] = {}
        for (c, arch, t, b), group in runs.items():
            if (c, t, b) != (cell, target, budget) or len(group) < 2:
                continue
            evs = [r["explained_variance"] for r in group]
            means[arch] = sum(evs) / len(evs)
            dead = sum(r["dead_fraction"] for r in group) / len(group)
            print(
                f"| {group[0]['label']} | {len(group)} | {means[arch]:.3f} | "
                f"{min(evs):.3f} | {max(evs):.3f} | {dead:.3f} |"
            )
        for other, margin in BAR:
            if "sa_gsae" in means and other in means:
                diff = means["sa_gsae"] - means[other]
                verdict = "MET" if diff >= margin else f"MISSED by {margin - diff:.3f}"
                print(
                    f"VERDICT {cell} T={target:g} {budget / 1e6:g}M seed mean: "
                    f"SA-GSAE(H) - {other} = {diff:+.3f} (bar >= {margin:+.2f}): "
                    f"{verdict}"
                )


def print_antipodal(rows: list[dict[str, Any]]) -> None:
    anti = [
        r
        for r in best_rows(rows).values()
        if "diag_antipodal_05" in r and _in_frame(r["arch"])
    ]
    if not anti:
        return
    print(
        "\n### Antipodal decoder directions (share of live latents with a partner "
        "below the cosine cut; best-lr runs)\n\n"
        "| cell | T | budget | arch | cos < -0.5 | cos < -0.7 |\n|---|---|---|---|---|---|"
    )
    for r in sorted(anti, key=lambda r: (r["cell"], r["target"], r["budget"])):
        print(
            f"| {r['cell']} | {r['target']:g} | {r['budget'] / 1e6:g}M | "
            f"{r['label']} | {r['diag_antipodal_05']:.3f} | "
            f"{r['diag_antipodal_07']:.3f} |"
        )
