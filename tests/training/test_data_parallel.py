"""Data-parallel training: 2 gloo ranks on CPU against one process, same global batches."""

import copy
import subprocess
from pathlib import Path

import pytest
import torch

from sae_lens_signaware.training import train_on_cached
from tests.launch import REPO, torchrun
from tests.training.dp_setup import ACTS_SEED, config, settings, synthetic_acts

pytestmark = pytest.mark.slow
WORKER = REPO / "tests" / "training" / "dp_worker.py"
#: Tolerances, and why. Float32 sums over a batch split in two and then averaged
#: differ from the one-batch sums in the last bits (1e-7 relative). Adam divides
#: each update by the gradient's running scale, so where a gradient is itself at
#: rounding level (a decoder row whose latent barely fired) the two runs can step
#: in different directions, by up to lr per step: so each weight agrees to lr
#: (1e-3), the weights agree on average to 1e-5, and the trained SAEs'
#: reconstructions of held-out data agree to 1e-3 relative (2e-5 measured).
PER_WEIGHT_ATOL = 1e-3
MEAN_ATOL = 1e-5
OUTPUT_RTOL = 1e-3


def run_worker(n: int, out: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return torchrun(
        n, [str(WORKER), str(out), *args], timeout=120, SAE_SIGNAWARE_DIST_TIMEOUT="20"
    )


@pytest.fixture(scope="module")
def two_rank_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ddp")
    result = run_worker(2, out)
    assert result.returncode == 0, result.stderr[-3000:]
    return out


def test_every_rank_holds_the_same_weights(two_rank_run: Path) -> None:
    a = torch.load(two_rank_run / "rank0.pt")
    b = torch.load(two_rank_run / "rank1.pt")
    for name in a:
        assert torch.equal(a[name], b[name]), name


def test_two_ranks_match_one_process_on_the_same_global_batches(
    two_rank_run: Path,
) -> None:
    torch.manual_seed(0)
    alone, _ = train_on_cached(config(), synthetic_acts(ACTS_SEED), settings())
    ranked = torch.load(two_rank_run / "rank0.pt")
    for name, value in alone.named_parameters():
        diff = (ranked[name] - value).abs()
        assert diff.max() <= PER_WEIGHT_ATOL, (name, diff.max())
        assert diff.mean() <= MEAN_ATOL, (name, diff.mean())
    # the controller's state: one gate that flips on one token moves the batch
    # L0 by 1/256, and the integral by about 1e-5
    torch.testing.assert_close(
        ranked["l0_controller"], alone.l0_controller, atol=1e-3, rtol=0
    )
    assert not torch.equal(ranked["W_enc"], config_sae_init()["W_enc"])  # it trained
    other = copy.deepcopy(alone)
    other.load_state_dict(ranked)
    x = synthetic_acts(ACTS_SEED + 1)[:512]
    with torch.no_grad():
        a, b = alone.eval()(x), other.eval()(x)
    assert (a - b).norm() / a.norm() <= OUTPUT_RTOL


def config_sae_init() -> dict[str, torch.Tensor]:
    from sae_lens.saes.sae import TrainingSAE

    torch.manual_seed(settings().seed)
    return TrainingSAE.from_dict(config().to_dict()).state_dict()


def test_a_killed_rank_fails_the_run_with_a_clear_error(tmp_path: Path) -> None:
    result = run_worker(2, tmp_path, "5")
    assert result.returncode != 0
    assert not list(tmp_path.glob("rank*.pt"))
    log = result.stdout + result.stderr
    assert "exitcode  : 3" in log or "exit code 3" in log or "exitcode: 3" in log, log[
        -3000:
    ]
