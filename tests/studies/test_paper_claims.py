"""The claims table's verdicts, on hand-made rows with known answers."""

import importlib.util
from pathlib import Path

from signaware_studies.comparison.summary import summarize

_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "paper_claims.py"
_SPEC = importlib.util.spec_from_file_location("paper_claims", _PATH)
assert _SPEC is not None and _SPEC.loader is not None
paper_claims = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(paper_claims)
HOLDS, NOT, PARTLY = paper_claims.HOLDS, paper_claims.NOT, paper_claims.PARTLY
claims, format_claims = paper_claims.claims, paper_claims.format_claims

EV_GATED = "SA-GSAE (H) Pareto-dominates Gated (2H) on EV vs L0"
DEAD_GATED = "Dead fraction falls, Gated (2H) / SA-GSAE (H), "
NO_AUX = "Without the auxiliary loss the SAE collapses"
TIE = "Tying the two thresholds barely changes EV"


def _row(
    cell: str,
    arch: str,
    target: float,
    ev: float,
    dead: float = 0.0,
    ce: float | None = None,
    seed: int = 0,
) -> dict:
    return {
        "cell": cell,
        "arch": arch,
        "target": target,
        "seed": seed,
        "d_sae": 1024 if arch in ("gated", "jumprelu", "topk") else 512,
        "l0": target,
        "explained_variance": ev,
        "dead_fraction": dead,
        "ce_loss_score": ev if ce is None else ce,
        "bipolar_share_of_live": 0.9,
        "both_signs_share_of_live": 0.9,
        "rarer_sign_share_of_both_signs": 0.4,
        "negative_share_of_firing": 0.5,
    }


def _cell(cell: str, sa_ev: float, gated_ev: float, gated_dead: float) -> list[dict]:
    rows = []
    for target in (4.0, 16.0):
        rows += [
            _row(cell, "sa_gsae", target, sa_ev + target / 100),
            _row(cell, "gated", target, gated_ev + target / 100, dead=gated_dead),
            _row(cell, "sa_untied", target, sa_ev + target / 100 - 0.001),
            _row(cell, "sa_no_aux", target, sa_ev, dead=0.9, ce=0.2),
        ]
    return rows


def _by_claim(summary: dict) -> dict[str, dict]:
    return {c["claim"]: c for c in claims(summary)}


def test_all_claims_hold_when_the_rows_say_so() -> None:
    rows = _cell("mlp_out", 0.6, 0.5, gated_dead=0.2)
    rows += _cell("attn_out", 0.6, 0.5, gated_dead=0.01)
    found = _by_claim(summarize(rows))
    ev = found[EV_GATED]
    assert ev["verdict"] == HOLDS and ev["found"].startswith("2 of 2 cells")
    assert "1/1 seeds" in ev["found"]
    mlp = found[DEAD_GATED + "mlp_out"]
    # 0.2 dead against none, floored at half a latent of 1024: 0.2 * 2048 = 409.6x
    assert mlp["verdict"] == HOLDS and mlp["found"].startswith("409.6x")
    attn = found[DEAD_GATED + "attn_out"]
    assert attn["verdict"] == HOLDS and attn["found"].startswith("20.5x")
    assert found[NO_AUX]["verdict"] == HOLDS
    tie = found[TIE]
    assert tie["verdict"] == HOLDS and "mlp_out +0.0010" in tie["found"]


def test_each_gated_variant_gets_its_own_rows() -> None:
    rows = _cell("mlp_out", 0.6, 0.5, gated_dead=0.2)
    rows += [
        {**r, "arch": "gated_fixed", "explained_variance": 0.7}
        for r in rows
        if r["arch"] == "gated"
    ]
    found = _by_claim(summarize(rows))
    assert found[EV_GATED]["verdict"] == HOLDS
    fixed = found["SA-GSAE (H) Pareto-dominates Gated, fixed l1 (2H) on EV vs L0"]
    assert fixed["verdict"] == NOT and "min EV difference -0.060" in fixed["found"]
    assert "Dead fraction falls, Gated, fixed l1 (2H) / SA-GSAE (H), mlp_out" in found


def test_losing_cells_and_no_collapse_do_not_hold() -> None:
    rows = _cell("mlp_out", 0.5, 0.6, gated_dead=0.0)  # SA loses by 0.1
    rows += _cell("attn_out", 0.59, 0.6, gated_dead=0.0)  # SA within 0.025
    for row in rows:
        if row["arch"] == "sa_no_aux":
            # as SA-GSAE: nothing dead, the same loss recovered
            row["dead_fraction"] = 0.0
            row["ce_loss_score"] = row["explained_variance"] + row["target"] / 100
        if row["arch"] == "sa_untied":
            row["explained_variance"] += 0.05
    found = _by_claim(summarize(rows))
    ev = found[EV_GATED]
    assert ev["verdict"] == NOT and ev["found"].startswith("0 of 2 cells")
    assert "min EV difference -0.100" in ev["found"]
    dead = found[DEAD_GATED + "mlp_out"]
    assert dead["verdict"] == NOT and dead["found"].startswith("1.0x")
    assert found[NO_AUX]["verdict"] == NOT
    tie = found[TIE]
    assert tie["verdict"] == NOT and "-0.0490" in tie["found"]


def test_partial_verdicts_and_cells_without_a_paper_figure() -> None:
    rows = _cell("mlp_out", 0.6, 0.5, gated_dead=0.005)  # dominates, 10x dead
    rows += _cell("attn_out", 0.5, 0.6, gated_dead=0.0)  # loses by 0.1
    rows += _cell("resid", 0.6, 0.5, gated_dead=0.1)
    for row in rows:
        if row["arch"] == "sa_no_aux":  # worse but alive
            row["dead_fraction"] = 0.0
            row["ce_loss_score"] = row["explained_variance"] - 0.1
    summary = summarize(rows)
    found = _by_claim(summary)
    ev = found[EV_GATED]
    assert ev["verdict"] == PARTLY and ev["found"].startswith("2 of 3 cells")
    mlp = found[DEAD_GATED + "mlp_out"]
    assert mlp["verdict"] == PARTLY
    resid = found[DEAD_GATED + "resid"]
    assert resid["verdict"] == "no paper figure"
    assert found[NO_AUX]["verdict"] == PARTLY
    table = format_claims(summary)
    assert "| claim | paper | here | verdict |" in table
    assert "**holds partly**" in table and "Verdict rules:" in table
    # the baseline table has one row per cell; Gated is the only baseline here
    assert "| mlp_out | no overlap | no overlap |" not in table
    assert "+0.100 (dominates), L0 4.0-16.0" in table
