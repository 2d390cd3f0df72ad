"""The main job end to end, on a tiny budget."""

import json
import math

import pytest
from sae_lens import SAE

from sae_lens_signaware import SignAwareGatedSAE
from sae_lens_signaware.main_job import METRICS_FILENAME, format_table, run_main_job

pytestmark = pytest.mark.integration


def test_main_job_trains_evaluates_and_saves(tmp_path) -> None:
    out = tmp_path / "main_job"
    metrics = run_main_job(tokens=4096, output=out, eval_batches=1, threads=None)
    for name in ("cfg.json", "sae_weights.safetensors", METRICS_FILENAME):
        assert (out / name).is_file(), name
    assert json.loads((out / METRICS_FILENAME).read_text()) == metrics
    assert metrics["training_steps"] == 4
    # loose: the default hyperparameters are still being tuned
    assert 0 < metrics["l0"] <= 512
    assert all(math.isfinite(v) for v in metrics.values())
    assert isinstance(SAE.load_from_disk(out), SignAwareGatedSAE)
    table = format_table(metrics)
    assert "CE loss recovered" in table and "latents: both signs" in table
