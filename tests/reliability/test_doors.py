"""Bad inputs at the command lines fail before training, name what is wrong and
leave no output; a failure after training leaves the previous output intact."""

import argparse
from pathlib import Path
from typing import Any

import pytest
import torch
from sae_lens import SAE

from sae_lens_signaware import SignAwareGatedSAEConfig
from sae_lens_signaware.checks import HookShapeError, RunConfigError
from sae_lens_signaware.convert.jumprelu import to_jumprelu
from sae_lens_signaware.hub import export
from sae_lens_signaware.models import ModelNotFoundError, load_hooked_model
from sae_lens_signaware.outputs import OutputExistsError, OutputLock, OutputLockedError
from sae_lens_signaware.training import SignAwareTrainingRunner
from sae_lens_signaware_cli.cli import main as cli_main
from sae_lens_signaware_cli.main_job import run_main_job
from signaware_studies.commands import synthetic as synthetic_cli
from tests.runner_configs import runner_cfg


def small_sae() -> SAE[Any]:
    return SAE.from_dict(SignAwareGatedSAEConfig(d_in=8, d_sae=16).to_dict())


def test_main_job_tokens_0_is_refused_before_anything(tmp_path) -> None:
    with pytest.raises(RunConfigError, match="training_tokens=0"):
        run_main_job(tokens=0, output=tmp_path / "main")
    assert list(tmp_path.iterdir()) == []


def test_main_job_output_that_is_a_file(tmp_path) -> None:
    (tmp_path / "main").write_text("")
    with pytest.raises(OSError, match="is a file"):
        run_main_job(tokens=2048, output=tmp_path / "main")


def test_main_job_existing_output_needs_overwrite(tmp_path) -> None:
    (tmp_path / "main").mkdir()
    with pytest.raises(SystemExit) as exit_:
        cli_main(["main-job", "--tokens", "2048", "--output", str(tmp_path / "main")])
    assert "exists; pass --overwrite" in str(exit_.value.code)


def test_main_job_second_writer_is_refused_before_training(tmp_path) -> None:
    with OutputLock(tmp_path / "main"), pytest.raises(OutputLockedError):
        run_main_job(tokens=2048, output=tmp_path / "main", threads=0)


@pytest.mark.integration  # loads the real model and trains 2 steps
def test_main_job_failure_in_evaluation_keeps_the_old_output(
    tmp_path, monkeypatch
) -> None:
    """Ctrl-C during evaluation: the old SAE and metrics stay together."""
    out = tmp_path / "main"
    out.mkdir()
    (out / "metrics.json").write_text('{"old": true}')
    (out / "sae_weights.safetensors").write_text("old weights")

    def interrupted(*args: Any, **kwargs: Any) -> None:  # noqa: ARG001
        raise KeyboardInterrupt

    monkeypatch.setattr("sae_lens_signaware.evaluation.evaluate", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_main_job(tokens=2048, output=out, threads=0, overwrite=True)
    assert sorted(p.name for p in out.iterdir()) == [
        "metrics.json",
        "sae_weights.safetensors",
    ]
    assert (out / "sae_weights.safetensors").read_text() == "old weights"
    assert [p.name for p in tmp_path.iterdir()] == ["main"]


def test_missing_model_is_named() -> None:
    with pytest.raises(ModelNotFoundError, match="'raincandy-u/TinyStories-65K'"):
        load_hooked_model("raincandy-u/TinyStories-65K")


def test_context_longer_than_the_model_is_refused(tinystories_model, tmp_path) -> None:
    cfg = runner_cfg(tmp_path, context_size=100_000)
    with pytest.raises(RunConfigError, match=r"context_size=100000 is longer .* 512"):
        SignAwareTrainingRunner(cfg, override_model=tinystories_model)
    assert not (tmp_path / "out").exists()


def test_runner_existing_output_is_refused_before_the_model(tmp_path) -> None:
    (tmp_path / "out").mkdir()
    with pytest.raises(OutputExistsError, match="out exists"):
        SignAwareTrainingRunner(runner_cfg(tmp_path))  # no model given: none loads


def test_dashboard_hook_typo_is_named(tinystories_model) -> None:
    from sae_lens_signaware.checks import check_d_in

    with pytest.raises(
        HookShapeError,
        match=r"'blocks.1.hook_mlp_ot' is not a hook .*did you mean: blocks.1.hook_mlp_out",
    ):
        check_d_in(tinystories_model, "blocks.1.hook_mlp_ot", 128)


def test_dashboard_existing_out_is_refused_before_loading(tmp_path) -> None:
    (tmp_path / "site").mkdir()
    argv = ["dashboard", "--sae", str(tmp_path / "nothing")]
    argv += ["--output", str(tmp_path / "site")]
    with pytest.raises(SystemExit, match="exists; pass --overwrite"):
        cli_main(argv)
    with pytest.raises(SystemExit, match="does not exist"):
        cli_main([*argv, "--overwrite"])


def test_to_jumprelu_refuses_nan_b_gate() -> None:
    sae = small_sae()
    with torch.no_grad():
        sae.b_gate[3] = float("nan")  # type: ignore[index]
    with pytest.raises(ValueError, match=r"b_gate \(1 of 16 entries\)"):
        to_jumprelu(sae)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--p-plus", "1.5"], "1.5 is not in"),
        (["--rho", "-2"], "-2.0 is not in"),
        (["--steps", "0"], "0 is not > 0"),
    ],
)
def test_synthetic_flags_are_range_checked(tmp_path, capsys, flags, message) -> None:
    parser = argparse.ArgumentParser()
    synthetic_cli.add_arguments(parser)
    with pytest.raises(SystemExit):
        parser.parse_args(["polarity-dial", "--output", str(tmp_path / "s"), *flags])
    assert message in capsys.readouterr().err
    assert not (tmp_path / "s").exists()


def test_synthetic_existing_result_needs_overwrite(tmp_path) -> None:
    (tmp_path / "polarity_dial.json").write_text("{}")
    with pytest.raises(FileExistsError, match="--overwrite"):
        synthetic_cli.check_result_path(tmp_path, "polarity-dial", overwrite=False)
    synthetic_cli.check_result_path(tmp_path, "polarity-dial", overwrite=True)


def test_export_cleans_what_an_interrupted_export_left(tmp_path: Path) -> None:
    leftover = tmp_path / ".blocks.1.hook_mlp_out.tmp-deadbeef"
    leftover.mkdir()
    (leftover / "cfg.json").write_text("{}")
    export(small_sae(), tmp_path, sae_id="blocks.1.hook_mlp_out")
    assert not leftover.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "README.md",
        "blocks.1.hook_mlp_out",
    ]
