"""The main job end to end, on a tiny budget."""

import json
import math

import pytest
from sae_lens import SAE

from sae_lens_signaware import SignAwareGatedSAE
from sae_lens_signaware_cli.main_job import METRICS_FILENAME, format_table, run_main_job

pytestmark = pytest.mark.integration


def test_main_job_trains_evaluates_and_saves(tmp_path) -> None:
    out = tmp_path / "main_job"
    metrics = run_main_job(tokens=4096, output=out, eval_batches=1, threads=0)
    for name in ("cfg.json", "sae_weights.safetensors", METRICS_FILENAME):
        assert (out / name).is_file(), name
    assert json.loads((out / METRICS_FILENAME).read_text()) == metrics
    assert metrics["training_steps"] == 4
    # 4 steps from the data-driven thresholds (first step at L0 16): sparse already,
    # and it reconstructs something; the census adds up
    assert 1 < metrics["l0"] < 64
    assert 0.05 < metrics["explained_variance"] < 1
    assert metrics["ce_loss_without_sae"] < metrics["ce_loss_with_sae"]
    assert metrics["ce_loss_with_sae"] < metrics["ce_loss_with_ablation"]
    shares = ("dead", "positive_only", "negative_only", "both_signs")
    assert sum(metrics[f"{k}_fraction"] for k in shares) == pytest.approx(1.0)
    assert metrics["l0_positive"] + metrics["l0_negative"] == pytest.approx(
        metrics["l0"], rel=0.05
    )
    assert all(math.isfinite(v) for v in metrics.values() if isinstance(v, float))
    assert isinstance(SAE.load_from_disk(out), SignAwareGatedSAE)
    table = format_table(metrics)
    assert "CE loss recovered" in table and "latents: both signs" in table
