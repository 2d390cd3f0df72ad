"""``sae-signaware compare`` end to end, in a smaller version of --quick, and
its flags and settings."""

import argparse
import json

import pytest
import torch

from sae_lens_signaware_cli.cli import main
from signaware_studies.baselines import ARCHS
from signaware_studies.commands.compare import (
    QUICK,
    add_arguments,
    settings_from_args,
)
from signaware_studies.comparison.compare import (
    CompareSettings,
    read_rows,
    run_comparison,
)

pytestmark = pytest.mark.slow


def test_quick_compare_writes_rows_summary_tables_and_plots(tmp_path, capsys) -> None:
    out, cache = tmp_path / "out", tmp_path / "cache"
    argv = ["compare", "--quick", "--output", str(out), "--cache-dir", str(cache)]
    argv += ["--steps", "30", "--training-tokens", "20000", "--targets", "8"]
    threads = torch.get_num_threads()
    try:
        main(argv)
    finally:
        torch.set_num_threads(threads)
    rows = read_rows(out / "runs.jsonl")
    assert sorted(r["arch"] for r in rows) == sorted(ARCHS)
    for row in rows:
        assert row["cell"] == "mlp_out" and row["hook"] == "blocks.1.hook_mlp_out"
        assert row["n_steps"] == 30 and row["seed"] == 0 and row["target"] == 8.0
        assert 0 < row["l0"] < row["d_sae"]
        assert -0.5 < row["explained_variance"] < 1
        assert 0.0 <= row["dead_fraction"] < 0.5
        assert row["ce_loss_without_sae"] < row["ce_loss_with_ablation"]
        assert row["ce_loss_score"] == pytest.approx(
            (row["ce_loss_with_ablation"] - row["ce_loss_with_sae"])
            / (row["ce_loss_with_ablation"] - row["ce_loss_without_sae"])
        )
    by_arch = {r["arch"]: r for r in rows}
    for name in ("sa_gsae", "topk", "abstopk"):  # 30 steps reconstruct something
        assert by_arch[name]["explained_variance"] > 0.0, name
    assert by_arch["topk"]["l0"] == pytest.approx(8.0)
    assert by_arch["topk"]["d_sae"] == 2 * by_arch["sa_gsae"]["d_sae"] == 1024
    assert by_arch["batchtopk"]["d_sae"] == 1024
    assert by_arch["sa_gsae"]["both_signs_share_of_live"] > 0
    assert by_arch["gated"]["both_signs_share_of_live"] == 0
    assert "controlled_coefficient" not in by_arch["jumprelu"]  # SAELens's target_l0
    assert by_arch["gated"]["controlled_coefficient"] == "l1"

    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["cells"]) == {"mlp_out"}
    versus = summary["cells"]["mlp_out"]["versus"]
    assert set(versus) == {"gated", "gated_fixed"}
    fixed = by_arch["gated_fixed"]["fixed_coefficient"]["l1"]
    assert fixed == pytest.approx(10 * by_arch["gated"]["final_coefficient_scale"])
    results = (out / "results.md").read_text()
    assert "| SA-GSAE (H) | 512 | 8 |" in results
    assert "Dead fraction, geometric mean ratio Gated (2H) / SA" in results
    assert (out / "pareto_mlp_out.png").read_bytes()[:4] == b"\x89PNG"
    assert "| arch |" in capsys.readouterr().out

    # resumable: a second call trains nothing
    settings = CompareSettings(
        cells=["mlp_out"],
        targets=[8.0],
        seeds=[0],
        n_steps=30,
        batch_size=512,
        train_tokens=20_000,
        val_tokens=20_000,
        ce_tokens=8_192,
    )
    lines: list[str] = []
    run_comparison(out, settings, cache_dir=cache, progress=lines.append)
    assert lines == []
    assert len(read_rows(out / "runs.jsonl")) == len(ARCHS)
    # other settings in the same out dir are refused
    settings.n_steps = 31
    with pytest.raises(ValueError, match="another --output"):
        run_comparison(out, settings, cache_dir=cache)
    settings.n_steps, settings.lr = 30, 1e-3
    with pytest.raises(ValueError, match="'lr': 0.0003"):
        run_comparison(out, settings, cache_dir=cache)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser


def test_settings_from_the_command_line(capsys) -> None:
    parser = _parser()
    default = settings_from_args(parser.parse_args([]))
    assert default.b_dec_init == "mean" and default.n_steps == 1000
    assert default.cells == ["resid", "mlp_out", "attn_out"]
    assert default.archs == list(ARCHS)
    args = parser.parse_args(
        ["--quick", "--b-dec-init", "zeros", "--targets", "4", "32", "--steps", "9"]
    )
    quick = settings_from_args(args)
    assert quick.b_dec_init == "zeros" and quick.targets == [4.0, 32.0]
    assert quick.n_steps == 9 and quick.cells == ["mlp_out"] and quick.lr == 3e-4
    assert quick.seeds == QUICK["seeds"] and quick.ce_tokens == QUICK["ce_tokens"]
    assert settings_from_args(parser.parse_args(["--lr", "1e-3"])).lr == 1e-3
    chosen = settings_from_args(
        parser.parse_args(["--archs", "sa_gsae,topk", "--training-tokens", "5000"])
    )
    assert chosen.archs == ["sa_gsae", "topk"] and chosen.train_tokens == 5000
    with pytest.raises(SystemExit):
        parser.parse_args(["--b-dec-init", "median"])
    capsys.readouterr()
    with pytest.raises(SystemExit):
        parser.parse_args(["--cells", "mlp"])
    assert "unknown cell mlp" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parser.parse_args(["--archs", "sa_gsae,sa_gsae"])
    assert "repeated architecture" in capsys.readouterr().err


def test_old_flag_spellings_still_work_with_a_warning(tmp_path, capsys) -> None:
    args = _parser().parse_args(
        ["--out", str(tmp_path), "--train-tokens", "7000", "--quick"]
    )
    assert args.output == tmp_path and args.training_tokens == 7000
    err = capsys.readouterr().err
    assert "--out is deprecated; use --output" in err
    assert "--train-tokens is deprecated; use --training-tokens" in err
    assert settings_from_args(args).train_tokens == 7000


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"cells": []}, "cells is empty"),
        ({"archs": ["sa_gsae", "nope"]}, "unknown archs"),
        ({"targets": [8.0, 8.0]}, "has repeats"),
        ({"targets": [0.0]}, "targets must be > 0"),
        ({"seeds": [-1]}, "seeds must be >= 0"),
        ({"n_steps": 0}, "n_steps must be an int > 0"),
        ({"lr": float("nan")}, "lr must be a finite number > 0"),
        ({"layer": -1}, "layer must be >= 0"),
        ({"b_dec_init": "median"}, "b_dec_init must be one of"),
    ],
)
def test_settings_refuse_runs_that_train_nothing(fields, message) -> None:
    with pytest.raises(ValueError, match=message):
        CompareSettings(**fields)


def test_settings_check_the_model() -> None:
    settings = CompareSettings(layer=2, targets=[8.0])
    with pytest.raises(ValueError, match="layer 2 is out of range"):
        settings.check_model(n_layers=2, d_model=128)
    settings.check_model(n_layers=3, d_model=128)
    # the narrowest architecture (H = 4 x d_model = 8 latents) bounds the target
    with pytest.raises(ValueError, match=r"targets \[16.0\] exceed d_sae=8"):
        CompareSettings(targets=[4.0, 16.0]).check_model(n_layers=2, d_model=2)
