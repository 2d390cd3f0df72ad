"""``torchrun -m sae_lens_signaware_cli.train``: one SA-GSAE, two gloo ranks, the real model."""

import json
import subprocess
from pathlib import Path

import pytest
from sae_lens import SAE

from sae_lens_signaware_cli.assets import hub_cache_dir
from tests.cli.test_train import cli_args
from tests.launch import torchrun

pytestmark = pytest.mark.slow


def torchrun_train(n: int, args: list[str]) -> subprocess.CompletedProcess[str]:
    return torchrun(
        n,
        ["-m", "sae_lens_signaware_cli.train", *args],
        timeout=300,
        HF_HUB_OFFLINE="1",
        HF_HUB_CACHE=str(hub_cache_dir()),
        SAE_SIGNAWARE_DIST_TIMEOUT="60",
    )


def test_two_ranks_write_one_sae_with_the_world_size_and_resume_on_one(
    tmp_path: Path,
) -> None:
    args = cli_args(tmp_path, tokens=4096) + ["--n_checkpoints", "1"]
    result = torchrun_train(2, args)
    assert result.returncode == 0, result.stderr[-4000:]
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == [
        "cfg.json",
        "runner_cfg.json",
        "sae_weights.safetensors",
        "sparsity.safetensors",
    ]
    runner_cfg = json.loads((out / "runner_cfg.json").read_text())
    assert runner_cfg["world_size"] == 2
    assert runner_cfg["training_tokens"] == 4096  # global counts, as given
    assert runner_cfg["train_batch_size_tokens"] == 1024
    sae = SAE.load_from_disk(out)
    assert sae.cfg.metadata.world_size == 2
    # SAELens puts each run's checkpoints in a folder named by a random id
    checkpoints = [p.parent for p in (tmp_path / "ckpt").rglob("trainer_state.pt")]
    assert len(checkpoints) == 1  # written once, by rank 0
    # SAELens's one checkpoint comes after the step that passes half the tokens:
    # 1536 of each rank's 2048, named by the global count
    assert checkpoints[0].name == "3072", checkpoints[0].name
    state = (checkpoints[0] / "runner_cfg.json").read_text()
    assert json.loads(state)["world_size"] == 2

    # resume the 2-rank checkpoint on one process: the step count carries on
    resumed = tmp_path / "resumed"
    args = cli_args(resumed, tokens=4096)
    args += ["--resume_from_checkpoint", str(checkpoints[0])]
    result = torchrun_train(1, args)
    assert result.returncode == 0, result.stderr[-4000:]
    saved = json.loads((resumed / "out" / "runner_cfg.json").read_text())
    assert saved["world_size"] == 1
    assert SAE.load_from_disk(resumed / "out").cfg.d_sae == 256
