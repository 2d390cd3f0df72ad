"""Issue 17's bar and exchange rate (``benchmarks/per_sign_tables.py``), on
hand-made rows with known answers."""

import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest

_BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(_BENCHMARKS))  # its sibling modules (quality_archs, ...)
_SPEC = importlib.util.spec_from_file_location(
    "per_sign_tables", _BENCHMARKS / "per_sign_tables.py"
)
assert _SPEC is not None and _SPEC.loader is not None
per_sign_tables = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(per_sign_tables)


def _row(
    arch: str, ev: float, dead: float = 0.0, budget: int = 4_000_000
) -> dict[str, Any]:
    return {
        "cell": "mlp_out",
        "arch": arch,
        "target": 8.0,
        "budget": budget,
        "lr": 3e-3,
        "seed": 0,
        "select_ev": ev,
        "explained_variance": ev,
        "ce_loss_score": 0.8,
        "dead_fraction": dead,
        "both_signs_share_of_live": 0.3,
        "both_sides_per_token": 0.0,
        "l0": 8.0,
    }


def _frame(
    per_sign: float,
    one_sided: float,
    topk_15h: float,
    topk_2h: float,
    dead: float = 0.0,
) -> list[dict[str, Any]]:
    return [
        _row("sa_per_sign", per_sign, dead),
        _row("sa_shared", per_sign - 0.01),
        _row("sa_one_sided", one_sided),
        _row("topk_15h", topk_15h),
        _row("topk_2h", topk_2h),
    ]


@pytest.mark.parametrize(
    ("one_sided", "topk_15h", "topk_2h", "met"),
    [
        (0.800, 0.790, 0.805, True),  # ties allowed; within 0.01 of TopK (2H)
        (0.801, 0.790, 0.805, False),  # below its one-sided gate
        (0.790, 0.801, 0.805, False),  # below TopK (1.5H)
        (0.790, 0.790, 0.8101, False),  # more than 0.01 below TopK (2H)
    ],
)
def test_the_bar_is_the_three_margins(
    one_sided: float, topk_15h: float, topk_2h: float, met: bool
) -> None:
    verdicts = per_sign_tables.print_bar(_frame(0.800, one_sided, topk_15h, topk_2h))
    assert verdicts == {"mlp_out T=8 4M": met}


def test_dead_latents_do_not_decide_the_bar() -> None:
    verdicts = per_sign_tables.print_bar(_frame(0.8, 0.79, 0.79, 0.8, dead=0.5))
    assert verdicts == {"mlp_out T=8 4M": True}


def test_a_missing_comparison_misses_the_bar() -> None:
    rows = [r for r in _frame(0.8, 0.79, 0.79, 0.8) if r["arch"] != "topk_2h"]
    assert per_sign_tables.print_bar(rows) == {"mlp_out T=8 4M": False}


@pytest.mark.parametrize(
    ("level", "expected"),
    [
        (0.815, "1.82H"),  # log-linear between 1.5H (0.811) and 2H (0.817)
        (0.811, "1.50H"),  # ... reached at a measured width
        (0.800, "<= 1H"),
        (0.820, "> 2H"),
    ],
)
def test_width_at_interpolates_in_log_width(level: float, expected: str) -> None:
    points = [(1.0, 0.800), (1.5, 0.811), (2.0, 0.817)]
    assert per_sign_tables._width_at(points, level) == expected
