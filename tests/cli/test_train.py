"""The command lines: SAELens's training CLI with our architecture, and ``sae-signaware``."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sae_lens import SAE

from sae_lens_signaware import SignAwareGatedSAE
from sae_lens_signaware_cli.assets import hub_cache_dir, tinystories_dir
from sae_lens_signaware_cli.cli import main
from sae_lens_signaware_cli.train import split_our_flags
from tests.runner_configs import SAE_KWARGS

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


def cli_args(out: Path, d_in: int = 128, tokens: int = 2048) -> list[str]:
    """SAELens flags for a tiny run on the HF model (hook names are HF module names)."""
    sae_flags = []
    for key, value in {**SAE_KWARGS, "d_in": d_in, "d_sae": 256}.items():
        sae_flags += [f"--{key}", str(value)]
    return [
        "--architecture",
        "sign_aware_gated",
        *sae_flags,
        "--model_name",
        "raincandy-u/TinyStories-656K",
        "--model_class_name",
        "AutoModelForCausalLM",
        "--hook_name",
        "model.layers.1.mlp",
        "--model_from_pretrained_kwargs",
        '{"dtype": "float32"}',
        "--dataset_path",
        str(tinystories_dir()),
        "--dataset_trust_remote_code",
        "False",
        "--training_tokens",
        str(tokens),
        "--train_batch_size_tokens",
        "1024",
        "--store_batch_size_prompts",
        "8",
        "--n_batches_in_buffer",
        "16",
        "--n_batches_for_norm_estimate",
        "2",
        "--log_to_wandb",
        "False",
        "--output_path",
        str(out / "out"),
        "--checkpoint_path",
        str(out / "ckpt"),
    ]


def test_module_cli_trains_on_the_hf_model_offline(tmp_path) -> None:
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "HF_HUB_CACHE": str(hub_cache_dir()),
        "OMP_NUM_THREADS": "1",
        "PYTHONPATH": str(REPO),
    }
    result = subprocess.run(
        [sys.executable, "-m", "sae_lens_signaware_cli.train", *cli_args(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = tmp_path / "out"
    cfg = json.loads((out / "cfg.json").read_text())
    assert cfg["architecture"] == "sign_aware_gated"
    assert cfg["d_sae"] == 256
    assert cfg["metadata"]["model_class_name"] == "AutoModelForCausalLM"
    assert cfg["metadata"]["hook_name"] == "model.layers.1.mlp"
    assert cfg["metadata"]["model_from_pretrained_kwargs"] == {"dtype": "float32"}
    assert isinstance(SAE.load_from_disk(out), SignAwareGatedSAE)


def test_cli_rejects_d_in_that_does_not_fit_the_hook(tmp_path, capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["train", *cli_args(tmp_path, d_in=64)])
    assert "d_in=64" in str(exc.value) and "width 128" in str(exc.value)
    assert not (tmp_path / "out").exists()
    assert not (tmp_path / "ckpt").exists()
    capsys.readouterr()


def test_our_flags_and_dashed_spellings_reach_sae_lens() -> None:
    rest, given = split_our_flags(
        ["--training-tokens", "10", "--output=x", "--overwrite", "--hook_name", "h"]
    )
    assert rest == ["--training_tokens", "10", "--output_path=x", "--hook_name", "h"]
    assert given == {"overwrite": True, "skip_non_finite_batches": False}
