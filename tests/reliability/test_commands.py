"""The commands' doors: every foreseeable bad argument ends in one ``error:``
line (exit 1) or an argparse usage error (exit 2), names what is wrong, and
leaves nothing in ``--output``."""

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import torch

from sae_lens_signaware import SignAwareGatedTrainingSAEConfig
from sae_lens_signaware.checks import RunConfigError, check_dataset
from sae_lens_signaware.evaluation import check_eval_batches, evaluate
from sae_lens_signaware.evaluation.held_out import NonFiniteMetricError
from sae_lens_signaware_cli.cli import main as cli_main
from tests.paths import TINYSTORIES


def _fails(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """Run ``sae-signaware argv``; return the exit status and stderr's last line."""
    with pytest.raises(SystemExit) as exit_:
        cli_main(argv)
    code = exit_.value.code
    err = capsys.readouterr().err.strip().splitlines()
    message = str(code) if isinstance(code, str) else (err[-1] if err else "")
    return (1 if isinstance(code, str) else int(code or 0)), message


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--targets", "8", "8"], "targets [8.0, 8.0] has repeats"),
        (["--steps", "-5"], "-5 is not > 0"),
        (["--steps", "0"], "0 is not > 0"),
        (["--lr", "0"], "0.0 is not a finite number > 0"),
        (["--lr", "nan"], "nan is not a finite number > 0"),
        (["--archs", ""], "no architecture given"),
        (["--archs", "sa_gsae,nope"], "unknown architecture nope"),
        (["--threads", "-1"], "-1 is not >= 0"),
    ],
)
def test_compare_refuses_nonsense_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flags: list[str], message: str
) -> None:
    out = tmp_path / "compare"
    code, line = _fails(["compare", "--output", str(out), *flags], capsys)
    assert code in (1, 2) and message in line, line
    assert not out.exists()


@pytest.mark.parametrize("command", ["main-job", "sweep"])
def test_negative_threads_are_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    argv = [command, "--threads", "-1", "--output", str(tmp_path / "o")]
    if command == "sweep":
        argv += ["--targets", "8"]
    code, line = _fails(argv, capsys)
    assert code == 2 and "-1 is not >= 0" in line


@pytest.mark.parametrize("command", ["main-job", "sweep"])
def test_metadata_is_not_an_sae_override(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    argv = [command, "--sae", 'metadata={"x": 1}', "--output", str(tmp_path / "o")]
    if command == "sweep":
        argv += ["--targets", "8"]
    code, line = _fails(argv, capsys)
    assert code == 1 and line.startswith("error:") and "metadata" in line
    assert not (tmp_path / "o").exists()


def test_too_many_eval_batches_are_refused_with_the_figures() -> None:
    with pytest.raises(ValueError, match=r"eval_batches=1000000 needs about .* tokens"):
        check_eval_batches(1_000_000, TINYSTORIES, "validation")


def test_an_empty_validation_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "validation.jsonl").write_text("\n\n")
    with pytest.raises(
        RunConfigError, match=r"validation.jsonl holds only blank lines"
    ):
        check_eval_batches(1, tmp_path, "validation")


def test_a_missing_dataset_is_named_as_a_dataset_not_a_model() -> None:
    with pytest.raises(RunConfigError, match="dataset_path '/nonexistent/ds' does not"):
        check_dataset("/nonexistent/ds")


def test_non_utf8_training_text_is_named(tmp_path: Path) -> None:
    (tmp_path / "train.jsonl").write_bytes(b'{"text": "ok"}\n{"text": "\xff\xfe"}\n')
    with pytest.raises(RunConfigError, match=r"train.jsonl is not UTF-8 text \(line 2"):
        check_dataset(str(tmp_path))


def test_a_blank_line_dataset_is_named(tmp_path: Path) -> None:
    (tmp_path / "train.jsonl").write_text("\n   \n\n")
    with pytest.raises(RunConfigError, match="holds only blank lines"):
        check_dataset(str(tmp_path))


def test_a_width_that_cannot_fit_is_refused_before_allocating() -> None:
    with pytest.raises(ValueError, match=r"d_sae=1000000000000 .* needs about .* GiB"):
        SignAwareGatedTrainingSAEConfig(d_in=128, d_sae=10**12)


def test_the_train_command_names_a_missing_dataset(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["train", "--architecture", "sign_aware_gated", "--d_in", "128"]
    argv += ["--d_sae", "256", "--model_name", "raincandy-u/TinyStories-656K"]
    argv += ["--dataset_path", "/nonexistent/ds", "--training_tokens", "8192"]
    argv += ["--log_to_wandb", "False", "--output_path", str(tmp_path / "out")]
    code, line = _fails(argv, capsys)
    assert code == 1 and "dataset_path '/nonexistent/ds' does not exist" in line
    assert "model" not in line.split("does not exist")[0]
    assert not (tmp_path / "out").exists()


@pytest.mark.integration
def test_a_diverging_sweep_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], tinystories_model: Any
) -> None:
    from sae_lens_signaware_cli import sweep

    out = tmp_path / "sweep"
    argv = ["sweep", "--targets", "8", "--training-tokens", "20480", "--lr", "1e9"]
    argv += ["--d-sae", "128", "--output", str(out)]
    monkey = pytest.MonkeyPatch()
    monkey.setattr(sweep, "load_model", lambda _name: tinystories_model)
    try:
        code, line = _fails(argv, capsys)
    finally:
        monkey.undo()
    assert code == 1 and line.startswith("error: training stopped at step")
    assert "is not finite" in line
    assert list(tmp_path.iterdir()) == []  # no output, no staging, no lock


@pytest.mark.integration
def test_nan_in_the_evaluation_is_named(
    signed_sae: Any, tinystories_model: Any
) -> None:
    sae = copy.deepcopy(signed_sae)  # the fixture is shared
    sae.cfg.metadata.context_size = 128
    sae.cfg.metadata.prepend_bos = True
    with torch.no_grad():
        sae.W_dec[0, 0] = float("nan")
    with pytest.raises(NonFiniteMetricError, match="non-finite .*explained_variance"):
        evaluate(sae, tinystories_model, TINYSTORIES, "validation", n_batches=1)
    assert json.dumps({"ok": 1})  # the error came before any JSON was written
