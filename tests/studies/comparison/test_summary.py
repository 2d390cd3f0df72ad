"""The Pareto benchmark's derived numbers, on hand-made rows (pure arithmetic:
the fast tier)."""

import math

import pytest

from signaware_studies.comparison.summary import (
    aggregate,
    geometric_mean_ratio,
    interpolate_at_l0,
    pareto_dominance,
    summarize,
)


def _row(
    arch: str, target: float, seed: int, l0: float, ev: float, dead: float, d_sae: int
) -> dict:
    return {
        "cell": "mlp_out",
        "arch": arch,
        "target": target,
        "seed": seed,
        "d_sae": d_sae,
        "l0": l0,
        "explained_variance": ev,
        "dead_fraction": dead,
        "ce_loss_score": ev,
        "bipolar_share_of_live": 0.5,
        "both_signs_share_of_live": 0.5,
        "rarer_sign_share_of_both_signs": 0.3,
        "negative_share_of_firing": 0.4,
    }


def test_interpolation_is_linear_in_log_l0_and_never_extrapolates() -> None:
    points = [(4.0, 0.5), (16.0, 0.7), (64.0, 0.9)]
    assert interpolate_at_l0(points, 8.0) == 0.6
    assert math.isclose(interpolate_at_l0(points, 32.0) or 0, 0.8)
    assert interpolate_at_l0(points, 16.0) == 0.7
    assert interpolate_at_l0(points, 2.0) is None
    assert interpolate_at_l0(points, 100.0) is None


def test_dominance_on_the_overlap_only() -> None:
    ours = [(4.0, 0.5), (16.0, 0.7), (64.0, 0.9)]
    # Gated spans 8..128; on the overlap 8..64 it is below ours; beyond 64 it
    # is above, which does not count (no SA point there).
    theirs = [(8.0, 0.55), (32.0, 0.75), (128.0, 0.99)]
    result = pareto_dominance(ours, theirs)
    assert result["overlap"] == [8.0, 64.0]
    assert [p["l0"] for p in result["points"]] == [8.0, 16.0, 32.0, 64.0]
    # ours at 8 is 0.6 (linear in log L0), theirs 0.55
    assert math.isclose(result["points"][0]["difference"], 0.05)
    assert result["dominates"] is True


def test_one_crossing_breaks_dominance_and_no_overlap_is_none() -> None:
    ours = [(4.0, 0.5), (16.0, 0.7)]
    assert pareto_dominance(ours, [(8.0, 0.55), (16.0, 0.71)])["dominates"] is False
    # equal is not strictly better
    assert pareto_dominance(ours, [(16.0, 0.7)])["dominates"] is False
    result = pareto_dominance(ours, [(20.0, 0.1), (40.0, 0.2)])
    assert result["dominates"] is None and result["overlap"] is None
    assert pareto_dominance([], ours)["dominates"] is None


def test_geometric_mean_ratio_with_floor() -> None:
    assert math.isclose(
        geometric_mean_ratio([0.4, 0.1], [0.1, 0.1], 0.0, 0.0) or 0, 2.0
    )
    # zero dead on our side is floored: 0.2 / max(0, 0.01) = 20, 0.05 / 0.05 = 1
    ratio = geometric_mean_ratio([0.2, 0.05], [0.0, 0.05], 0.001, 0.01)
    assert math.isclose(ratio or 0, math.sqrt(20.0))
    assert geometric_mean_ratio([], [], 0.1, 0.1) is None


def test_summary_means_spreads_and_derived_numbers() -> None:
    rows = [
        _row("sa_gsae", 8, 0, 8.0, 0.60, 0.0, 512),
        _row("sa_gsae", 8, 1, 8.0, 0.62, 0.0, 512),
        _row("sa_gsae", 16, 0, 16.0, 0.70, 0.0, 512),
        _row("gated", 8, 0, 8.0, 0.50, 0.1, 1024),
        _row("gated", 16, 0, 16.0, 0.65, 0.4, 1024),
        _row("sa_untied", 8, 0, 8.0, 0.55, 0.0, 512),
        _row("sa_untied", 16, 0, 16.0, 0.66, 0.0, 512),
    ]
    summary = summarize(rows)
    sa8 = next(
        g for g in aggregate(rows) if g["arch"] == "sa_gsae" and g["target"] == 8
    )
    assert sa8["seeds"] == [0, 1]
    assert math.isclose(sa8["explained_variance"]["mean"], 0.61)
    assert math.isclose(sa8["explained_variance"]["std"], math.sqrt(2) * 0.01)
    cell = summary["cells"]["mlp_out"]
    assert set(cell["versus"]) == {"gated"}  # no fixed-l1 Gated rows
    gated = cell["versus"]["gated"]
    assert gated["ev_dominance"]["dominates"] is True
    assert gated["ev_dominance_per_seed"] == {"0": True}
    floor = 0.5 / 1024  # half a latent of the wider SAE, for both sides
    expected = math.sqrt((0.1 / floor) * (0.4 / floor))
    assert gated["dead_ratio"] == pytest.approx(expected)
    assert cell["ev_sa_over_baselines"]["gated"]["dominates"] is True
    assert cell["ev_sa_over_baselines"]["topk"]["dominates"] is None
    tied = cell["ev_tied_minus_untied"]
    assert tied["per_target"] == pytest.approx({"8.0": 0.06, "16.0": 0.04})
    assert tied["mean"] == pytest.approx(0.05)
    assert cell["ablations"]["sa_no_aux"] == {}


def test_no_dead_on_either_side_is_a_ratio_of_one() -> None:
    rows = [
        _row("sa_gsae", 8, 0, 8.0, 0.6, 0.0, 512),
        _row("gated", 8, 0, 8.0, 0.5, 0.0, 1024),
    ]
    assert summarize(rows)["cells"]["mlp_out"]["versus"]["gated"]["dead_ratio"] == 1.0


def test_settled_coefficient_of_a_controlled_run_only() -> None:
    from signaware_studies.baselines import settled_coefficient

    row = _row("gated", 8, 0, 8.0, 0.5, 0.0, 1024)
    with pytest.raises(ValueError, match="not driven by the controller"):
        settled_coefficient(row, 128)
    row["final_coefficient_scale"] = 2.5
    # Gated's controlled l1 starts at 10
    assert settled_coefficient(row, 128) == ("l1", pytest.approx(25.0))
    with pytest.raises(ValueError, match="not driven by the controller"):
        settled_coefficient({**_row("topk", 8, 0, 8.0, 0.5, 0.0, 1024)}, 128)
