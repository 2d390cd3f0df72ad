"""Bad inputs fail early, name what is wrong, and leave no half-written output."""

import json
import shutil

import pytest
import torch
from sae_lens import SAE
from safetensors.torch import load_file, save_file

from sae_lens_signaware import StateDictError
from sae_lens_signaware.checks import HookShapeError, check_d_in, hook_width
from sae_lens_signaware.training import SignAwareTrainingRunner, run_training
from sae_lens_signaware_cli.main_job import run_main_job
from tests.runner_configs import runner_cfg

pytestmark = pytest.mark.integration


def test_hook_width_of_the_real_model(tinystories_model) -> None:
    assert hook_width(tinystories_model, "blocks.1.hook_mlp_out") == 128
    assert hook_width(tinystories_model, "blocks.0.attn.hook_z") == 8 * 16
    assert (
        hook_width(tinystories_model, "blocks.0.attn.hook_z", hook_head_index=2) == 16
    )
    with pytest.raises(HookShapeError, match="blocks.9.hook_mlp_out"):
        check_d_in(tinystories_model, "blocks.9.hook_mlp_out", 128)


def test_runner_with_wrong_d_in_fails_before_writing(
    tinystories_model, tmp_path
) -> None:
    cfg = runner_cfg(tmp_path, sae={"d_in": 64}, n_checkpoints=2)
    with pytest.raises(HookShapeError, match=r"d_in=64 .* width 128"):
        run_training(cfg, override_model=tinystories_model)
    with pytest.raises(ValueError, match="d_in"):
        SignAwareTrainingRunner(cfg, override_model=tinystories_model)
    assert not (tmp_path / "out").exists()
    assert not (tmp_path / "ckpt").exists()


def test_main_job_with_wrong_d_in_fails_before_writing(tmp_path) -> None:
    with pytest.raises(HookShapeError, match="d_in=256"):
        run_main_job(tokens=2048, output=tmp_path / "main", threads=None, d_in=256)
    assert not (tmp_path / "main").exists()


@pytest.fixture
def saved(trained, tmp_path):
    folder = tmp_path / "sae"
    shutil.copytree(trained["output"], folder)
    return folder


def _edit_weights(folder, edit) -> None:
    state = load_file(folder / "sae_weights.safetensors")
    edit(state)
    save_file(state, folder / "sae_weights.safetensors")


def test_missing_tensor_is_named(saved) -> None:
    _edit_weights(saved, lambda state: state.pop("b_mag"))
    with pytest.raises(StateDictError, match="missing tensor 'b_mag'"):
        SAE.load_from_disk(saved)


def test_wrongly_shaped_tensor_is_named(saved) -> None:
    def edit(state):
        state["W_enc"] = state["W_enc"][:, :100].contiguous()
        state["threshold_pos"] = torch.zeros(7)

    _edit_weights(saved, edit)
    with pytest.raises(StateDictError) as exc:
        SAE.load_from_disk(saved)
    message = str(exc.value)
    assert "'W_enc' has shape (128, 100), expected (128, 512)" in message
    assert "'threshold_pos' has shape (7,), expected (512,)" in message


def test_cfg_with_wrong_d_in_names_the_tensors(saved) -> None:
    cfg = json.loads((saved / "cfg.json").read_text())
    cfg["d_in"] = 64
    (saved / "cfg.json").write_text(json.dumps(cfg))
    with pytest.raises(StateDictError, match=r"'W_dec' has shape \(512, 128\)"):
        SAE.load_from_disk(saved)


def test_cfg_missing_d_sae_names_it(saved) -> None:
    cfg = json.loads((saved / "cfg.json").read_text())
    del cfg["d_sae"]
    (saved / "cfg.json").write_text(json.dumps(cfg))
    # SAELens builds the config class from the dict: the error names the field
    with pytest.raises(TypeError, match="SignAwareGatedSAEConfig.*'d_sae'"):
        SAE.load_from_disk(saved)
