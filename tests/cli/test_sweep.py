"""``sae-signaware sweep``: an L0 sweep of SA-GSAEs from one model pass, each in SAELens format."""

import json
from pathlib import Path
from typing import Any

import pytest
from sae_lens import SAE

from sae_lens_signaware_cli import cli, sweep
from sae_lens_signaware_cli.assets import DEFAULT_HOOK
from sae_lens_signaware_cli.sweep import SweepEntry, sweep_config, sweep_entries

TARGETS = (2, 8, 32)


def test_entry_names_show_only_what_varies() -> None:
    assert [e.name for e in sweep_entries([4, 8.5])] == ["l0_4", "l0_8.5"]
    entries = sweep_entries([4], [128, 256], ["h0", "h1"])
    assert [e.name for e in entries] == [
        "h0-d128-l0_4",
        "h0-d256-l0_4",
        "h1-d128-l0_4",
        "h1-d256-l0_4",
    ]
    assert entries[3] == SweepEntry("h1-d256-l0_4", "h1", 256, 4)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"targets": []}, "sweep targets is empty"),
        ({"targets": [4, 4]}, "sweep targets has repeats"),
        ({"targets": [4], "d_saes": [64, 64]}, "sweep d_saes has repeats"),
        ({"targets": [4, 100], "d_saes": [64]}, r"targets \[100\] exceed d_sae=64"),
    ],
)
def test_entries_reject(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        sweep_entries(**kwargs)


def test_config_sets_each_sae_and_rejects_sweep_fields() -> None:
    entries = sweep_entries([4, 16], [64])
    cfg = sweep_config(entries, {DEFAULT_HOOK: 128}, output=None, l0_coefficient=2.0)
    assert {n: c.target_l0 for n, c in cfg.saes.items()} == {"l0_4": 4, "l0_16": 16}
    assert all(c.l0_coefficient == 2.0 and c.d_sae == 64 for c in cfg.saes.values())
    assert cfg.hook_names_per_sae == {"l0_4": DEFAULT_HOOK, "l0_16": DEFAULT_HOOK}
    with pytest.raises(ValueError, match="'target_l0' is set per SAE"):
        sweep_config(entries, {DEFAULT_HOOK: 128}, target_l0=3)
    with pytest.raises(ValueError, match="'l0_coeficient' is not a field"):
        sweep_config(entries, {DEFAULT_HOOK: 128}, l0_coeficient=3)
    with pytest.raises(ValueError, match="no width for hook 'blocks.0.hook_mlp_out'"):
        sweep_config(sweep_entries([4], hook_names=["blocks.0.hook_mlp_out"]), {})


def test_refuses_bad_fields_and_existing_output_before_loading_the_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "keep.txt").write_text("mine")

    def no_model(_name: str) -> None:
        raise AssertionError("the model should not load")

    monkeypatch.setattr(sweep, "load_model", no_model)
    with pytest.raises(SystemExit, match="exists; pass --overwrite"):
        cli.main(["sweep", "--targets", "4", "--output", str(tmp_path)])
    assert (tmp_path / "keep.txt").read_text() == "mine"
    new = str(tmp_path / "new")
    with pytest.raises(SystemExit, match="l0_coefficient must be a finite number"):
        cli.main(
            ["sweep", "--targets", "4", "--sae", "l0_coefficient=-1", "--output", new]
        )
    with pytest.raises(SystemExit, match="training_tokens=100 is less than one batch"):
        cli.main(
            ["sweep", "--targets", "4", "--training-tokens", "100", "--output", new]
        )
    with pytest.raises(SystemExit, match="sweep targets has repeats"):
        cli.main(["sweep", "--targets", "4", "4", "--output", new])
    assert not (tmp_path / "new").exists()


def test_sweep_command_end_to_end(
    tinystories_model: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Tiny: 30 steps of 1024 tokens at lr 1e-2, enough for the L0 controller
    to pull the three SAEs apart (about 4 / 9 / 24 here)."""
    monkeypatch.setattr(sweep, "load_model", lambda _name: tinystories_model)
    out = tmp_path / "sweep"
    argv = ["sweep", "--targets", *map(str, TARGETS), "--d-sae", "128"]
    argv += ["--training-tokens", "30720", "--lr", "0.01", "--output", str(out)]
    cli.main(argv)

    printed = capsys.readouterr().out
    names = [f"l0_{t}" for t in TARGETS]
    assert sorted(p.name for p in out.iterdir()) == sorted([*names, "runner_cfg.json"])
    assert [p.name for p in tmp_path.iterdir()] == ["sweep"]  # no staging leftovers
    runner_cfg = json.loads((out / "runner_cfg.json").read_text())
    assert runner_cfg["output_path"] == str(out)
    l0s = []
    for name, target in zip(names, TARGETS, strict=True):
        saved = json.loads((out / name / "cfg.json").read_text())
        details = saved["metadata"]["training_architecture_details"]
        assert details["target_l0"] == target
        sae = SAE.load_from_disk(out / name)
        assert sae.cfg.architecture() == "sign_aware_gated"
        assert (sae.cfg.d_in, sae.cfg.d_sae) == (128, 128)
        assert sae.cfg.metadata.hook_name == DEFAULT_HOOK
        l0s.append(sae.cfg.metadata.l0)
        row = next(line for line in printed.splitlines() if f"| {name} " in line)
        assert f"{sae.cfg.metadata.l0:.2f}" in row and str(out / name) in row
    assert l0s == sorted(l0s) and len(set(l0s)) == 3, l0s

    # a rerun needs --overwrite, and then replaces the output whole
    with pytest.raises(SystemExit, match="exists"):
        cli.main(argv)
    cli.main([*argv[:3], "--tokens", "2048", "--out", str(out), "--overwrite"])
    assert "--tokens is deprecated; use --training-tokens" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["l0_2", "runner_cfg.json"]
