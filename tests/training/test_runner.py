"""SAELens's training runners, config dicts and checkpoints with the SA-GSAE."""

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from sae_lens import (
    LanguageModelSAERunnerConfig,
    LanguageModelSAETrainingRunner,
    SAETrainingRunner,
)
from sae_lens.constants import TRAINER_STATE_FILENAME

from sae_lens_signaware import (
    SignAwareGatedTrainingSAE,
    SignAwareGatedTrainingSAEConfig,
)
from sae_lens_signaware.training import SignAwareTrainingRunner
from tests.runner_configs import SAE_KWARGS, runner_cfg

pytestmark = pytest.mark.integration


def _record_steps(
    sae: SignAwareGatedTrainingSAE, first_state: dict[str, torch.Tensor] | None = None
) -> list[int]:
    """The ``n_training_steps`` of each step the SAE takes; ``first_state`` gets
    its weights as the first step begins."""
    steps: list[int] = []
    forward = sae.training_forward_pass

    def recording(step_input: Any) -> Any:
        if not steps and first_state is not None:
            first_state.update({k: v.clone() for k, v in sae.state_dict().items()})
        steps.append(step_input.n_training_steps)
        return forward(step_input)

    sae.training_forward_pass = recording  # type: ignore[method-assign]
    return steps


def test_language_model_runner_trains_and_saves(tinystories_model, tmp_path) -> None:
    cfg = runner_cfg(tmp_path, tokens=4096)
    runner = LanguageModelSAETrainingRunner(cfg, override_model=tinystories_model)
    assert isinstance(runner.sae, SignAwareGatedTrainingSAE)
    steps = _record_steps(runner.sae)
    sae = runner.run()
    assert steps == [0, 1, 2, 3]
    assert sae.cfg.normalize_activations == "none"


def test_our_runner_reports_each_step(tinystories_model, tmp_path) -> None:
    cfg = runner_cfg(tmp_path, tokens=4096)
    losses: list[float] = []
    runner = SignAwareTrainingRunner(
        cfg,
        override_model=tinystories_model,
        on_step=[lambda output: losses.append(float(output.loss))],
    )
    sae = runner.run()
    assert len(losses) == 4
    assert all(torch.isfinite(torch.tensor(losses)))
    out = tmp_path / "out"
    for name in ("cfg.json", "sae_weights.safetensors", "sparsity.safetensors"):
        assert (out / name).is_file(), name
    saved = json.loads((out / "cfg.json").read_text())
    assert saved["architecture"] == "sign_aware_gated"
    assert saved["metadata"]["hook_name"] == "blocks.1.hook_mlp_out"
    # the scaling factor is folded in, so the saved SAE takes raw activations
    assert saved["normalize_activations"] == "none"
    assert sae.cfg.normalize_activations == "none"


def test_deprecated_sae_training_runner_still_works(
    tinystories_model, tmp_path
) -> None:
    cfg = runner_cfg(tmp_path, tokens=2048, output_path=None)
    with pytest.warns(DeprecationWarning):
        runner = SAETrainingRunner(cfg, override_model=tinystories_model)
    assert isinstance(runner.run(), SignAwareGatedTrainingSAE)


def test_dict_config_round_trips_and_trains(tinystories_model, tmp_path) -> None:
    cfg_dict = {
        "sae": {"architecture": "sign_aware_gated", **SAE_KWARGS, "d_sae": 256},
        "logger": {"log_to_wandb": False},
        "model_name": "raincandy-u/TinyStories-656K",
        "hook_name": "blocks.1.hook_mlp_out",
        "dataset_path": runner_cfg(tmp_path).dataset_path,
        "dataset_trust_remote_code": False,
        "training_tokens": 2048,
        "train_batch_size_tokens": 1024,
        "store_batch_size_prompts": 8,
        "n_batches_in_buffer": 16,
        "n_batches_for_norm_estimate": 2,
        "output_path": str(tmp_path / "out"),
        "checkpoint_path": None,
        "verbose": False,
    }
    cfg = LanguageModelSAERunnerConfig.from_dict(cfg_dict)
    assert isinstance(cfg.sae, SignAwareGatedTrainingSAEConfig)
    assert cfg.sae.d_sae == 256 and cfg.sae.threshold_init_l0 == 32.0
    again = LanguageModelSAERunnerConfig.from_dict(
        json.loads(json.dumps(cfg.to_dict()))
    )
    assert again.sae == cfg.sae
    sae = LanguageModelSAETrainingRunner(cfg, override_model=tinystories_model).run()
    assert isinstance(sae, SignAwareGatedTrainingSAE) and sae.cfg.d_sae == 256
    runner_cfg_json = json.loads((tmp_path / "out" / "runner_cfg.json").read_text())
    assert runner_cfg_json["sae"]["architecture"] == "sign_aware_gated"


def test_resume_from_checkpoint_continues_the_step_count(
    tinystories_model, tmp_path
) -> None:
    total, batch = 8192, 1024
    first = runner_cfg(tmp_path / "a", tokens=total, n_checkpoints=1)
    runner = LanguageModelSAETrainingRunner(first, override_model=tinystories_model)
    first_steps = _record_steps(runner.sae)
    runner.run()
    assert first_steps == list(range(total // batch))
    assert first.checkpoint_path is not None
    (checkpoint,) = [p for p in Path(first.checkpoint_path).iterdir() if p.is_dir()]
    state = torch.load(checkpoint / TRAINER_STATE_FILENAME)
    saved_samples, saved_steps = state["n_training_samples"], state["n_training_steps"]
    assert 0 < saved_samples < total

    resumed_cfg = runner_cfg(
        tmp_path / "b", tokens=total, resume_from_checkpoint=str(checkpoint)
    )
    resumed = LanguageModelSAETrainingRunner(
        resumed_cfg, override_model=tinystories_model
    )
    weights_at_resume: dict[str, torch.Tensor] = {}
    resumed_steps = _record_steps(resumed.sae, weights_at_resume)
    resumed.run()
    # SAELens saves a checkpoint before it counts the step that triggered it, so
    # the resumed run starts at the saved count and runs only the missing samples
    assert resumed_steps[0] == saved_steps > 0
    assert resumed_steps == list(range(saved_steps, saved_steps + len(resumed_steps)))
    assert len(resumed_steps) == (total - saved_samples) // batch
    # training went on from the checkpoint's weights (and, since the resumed run
    # never sees step 0, the data-driven threshold init did not run again)
    checkpoint_sae = SignAwareGatedTrainingSAE(resumed.sae.cfg)
    checkpoint_sae.load_weights_from_checkpoint(checkpoint)
    for name, value in checkpoint_sae.state_dict().items():
        assert torch.equal(weights_at_resume[name], value), name
