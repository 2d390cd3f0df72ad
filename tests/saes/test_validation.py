import json
import math
from pathlib import Path

import pytest
import torch
from sae_lens import SAE
from safetensors.torch import load_file, save_file

from sae_lens_signaware import SignAwareGatedTrainingSAE, StateDictError
from sae_lens_signaware.errors import NonFiniteSaveError
from sae_lens_signaware.saes.state_dict import NegativeThresholdWarning
from tests.helpers import training_cfg


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("l1_coefficient", -1.0),
        ("l0_coefficient", math.nan),
        ("aux_coefficient", math.inf),
        ("aux_coefficient", -0.5),
        ("threshold_init", -0.1),
        ("threshold_init", math.nan),
        ("bandwidth", 0.0),
        ("threshold_init_l0", -3.0),
        ("sparsity_warm_up_steps", -1),
        ("sparsity", "l2"),
        ("d_sae", 0),
        ("fused_step", "maybe"),
        ("threshold_init", 1e30),
        ("l0_coefficient", 1e30),
        ("target_l0_gain", 1e6),
        ("threshold_init_l0", 1e9),
    ],
)
def test_bad_config_values_name_the_field(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=rf"\.{field} must be"):
        training_cfg(**{field: value})


@pytest.mark.parametrize(
    ("field", "fields", "named"),
    [
        ("l1_coefficient", {"sparsity": "l0", "l1_coefficient": 5.0}, "sparsity='l1'"),
        ("l0_coefficient", {"sparsity": "l1", "l0_coefficient": 5.0}, "sparsity='l0'"),
        ("target_l0_gain", {"target_l0_gain": 0.1}, "target_l0 set"),
        (
            "sparse_max_density",
            {"fused_step": False, "sparse_max_density": 0.5},
            "fused_step=True",
        ),
        (
            "tie_thresholds",
            {"two_sided": False, "tie_thresholds": False},
            "two_sided=True",
        ),
        (
            "aux_detach_decoder",
            {"aux_coefficient": 0.0, "aux_detach_decoder": True},
            "aux_coefficient > 0",
        ),
    ],
)
def test_settings_that_do_nothing_are_refused_naming_both_fields(
    field: str, fields: dict[str, object], named: str
) -> None:
    with pytest.raises(ValueError, match=rf"\.{field}=.* is only used with {named}"):
        training_cfg(**fields)


def test_l0_penalty_without_any_gradient_path_is_refused() -> None:
    with pytest.raises(ValueError, match="learn_thresholds=False and ste_to_input"):
        training_cfg(sparsity="l0", learn_thresholds=False, ste_to_input=False)


def test_bad_dict_config_names_the_field() -> None:
    cfg = training_cfg().to_dict()
    cfg["sparsity"] = "lasso"
    with pytest.raises(ValueError, match="sparsity must be one of"):
        SignAwareGatedTrainingSAE.from_dict(cfg)


def _saved(tmp_path, **cfg_kwargs):
    sae = SignAwareGatedTrainingSAE(training_cfg(**cfg_kwargs))
    sae.save_inference_model(tmp_path)
    return tmp_path / "sae_weights.safetensors", tmp_path / "cfg.json"


def test_missing_tensor_is_named(tmp_path) -> None:
    weights, _ = _saved(tmp_path)
    state = load_file(weights)
    del state["b_gate"]
    save_file(state, weights)
    with pytest.raises(StateDictError, match="missing tensor 'b_gate'"):
        SAE.load_from_disk(tmp_path)


def test_misshapen_tensor_is_named(tmp_path) -> None:
    weights, _ = _saved(tmp_path)
    state = load_file(weights)
    state["threshold_neg"] = torch.zeros(3)
    save_file(state, weights)
    with pytest.raises(
        StateDictError, match=r"'threshold_neg' has shape \(3,\), expected \(16,\)"
    ):
        SAE.load_from_disk(tmp_path)


def test_cfg_that_disagrees_with_weights_is_named(tmp_path) -> None:
    _, cfg_path = _saved(tmp_path)
    cfg = json.loads(cfg_path.read_text())
    cfg["d_sae"] = 32
    cfg_path.write_text(json.dumps(cfg))
    with pytest.raises(
        StateDictError, match=r"'W_enc' has shape \(8, 16\), expected \(8, 32\)"
    ):
        SAE.load_from_disk(tmp_path)


def test_non_finite_weights_are_named(tmp_path) -> None:
    weights, _ = _saved(tmp_path)
    state = load_file(weights)
    state["W_dec"][0, 0] = math.nan
    save_file(state, weights)
    with pytest.raises(StateDictError, match="'W_dec' has 1 non-finite values"):
        SAE.load_from_disk(tmp_path)


def test_resuming_a_checkpoint_with_wrong_tensors_fails_clearly(tmp_path) -> None:
    sae = SignAwareGatedTrainingSAE(training_cfg())
    sae.save_model(tmp_path)
    state = load_file(tmp_path / "sae_weights.safetensors")
    del state["threshold_neg"]
    save_file(state, tmp_path / "sae_weights.safetensors")
    resumed = SignAwareGatedTrainingSAE(training_cfg())
    with pytest.raises(StateDictError, match="missing tensor 'threshold_neg'"):
        resumed.load_weights_from_checkpoint(tmp_path)


FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "v0.1.0"


@pytest.mark.parametrize("folder", ["tied_inference", "tied_checkpoint"])
def test_files_of_version_0_1_load_and_compute_the_same(folder: str) -> None:
    """v0.1.0 saved a tied training checkpoint with one ``threshold``; it and the
    inference folder load into today's format and compute what they computed."""
    expected = torch.load(FIXTURES / "expected.pt")
    sae = SAE.load_from_disk(FIXTURES / folder)
    assert torch.equal(sae.threshold_pos, sae.threshold_neg)
    assert torch.equal(sae.encode(expected["x"]), expected["f"])
    assert torch.equal(sae(expected["x"]), expected["out"])


def test_a_version_0_1_checkpoint_resumes_with_both_thresholds() -> None:
    # v0.1 trained shared encoders only; the per-sign default names the fix
    with pytest.raises(StateDictError, match="load them with sign_encoders='shared'"):
        SignAwareGatedTrainingSAE(training_cfg()).load_weights_from_checkpoint(
            FIXTURES / "tied_checkpoint"
        )
    sae = SignAwareGatedTrainingSAE(training_cfg(sign_encoders="shared"))
    sae.load_weights_from_checkpoint(FIXTURES / "tied_checkpoint")
    state = sae.state_dict()
    assert {"threshold_pos", "threshold_neg"} <= state.keys()
    assert "threshold" not in state
    assert torch.equal(state["threshold_pos"], state["threshold_neg"])


@pytest.mark.parametrize("tied", [True, False])
def test_saved_files_always_hold_both_thresholds(tmp_path, tied: bool) -> None:
    sae = SignAwareGatedTrainingSAE(training_cfg(tie_thresholds=tied))
    with torch.no_grad():
        sae.threshold_pos.fill_(0.7)
    sae.save_model(tmp_path / "checkpoint")
    sae.save_inference_model(tmp_path / "inference")
    for folder in ("checkpoint", "inference"):
        state = load_file(tmp_path / folder / "sae_weights.safetensors")
        assert {"threshold_pos", "threshold_neg"} <= state.keys()
        assert "threshold" not in state
        assert torch.equal(state["threshold_neg"] == 0.7, torch.full((16,), tied))


def test_integer_or_all_zero_weights_are_refused(tmp_path) -> None:
    weights, _ = _saved(tmp_path)
    state = load_file(weights)
    int_state = {**state, "W_enc": (state["W_enc"] * 0).to(torch.int32)}
    sae = SignAwareGatedTrainingSAE(training_cfg())
    with pytest.raises(StateDictError, match="'W_enc' has dtype torch.int32"):
        sae.process_state_dict_for_loading(dict(int_state))
    save_file(int_state, weights)  # SAELens's loader casts it to float32
    with pytest.raises(StateDictError, match="'W_enc' is all zeros"):
        SAE.load_from_disk(tmp_path)


def test_negative_thresholds_load_with_a_named_warning(tmp_path) -> None:
    weights, _ = _saved(tmp_path)
    state = load_file(weights)
    state["threshold_pos"][:3] = -0.5
    save_file(state, weights)
    with pytest.warns(NegativeThresholdWarning, match="threshold_pos has 3 negative"):
        SAE.load_from_disk(tmp_path)


def test_saving_a_non_finite_sae_is_refused_naming_the_tensor(tmp_path) -> None:
    sae = SignAwareGatedTrainingSAE(training_cfg())
    with torch.no_grad():
        sae.b_mag[2] = math.inf
    for save in (sae.save_model, sae.save_inference_model):
        with pytest.raises(NonFiniteSaveError, match="'b_mag' \\(1 of 16 values\\)"):
            save(tmp_path / save.__name__)
        assert not (tmp_path / save.__name__).exists()  # nothing written
