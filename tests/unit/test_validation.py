import json
import math

import pytest
import torch
from sae_lens import SAE
from safetensors.torch import load_file, save_file

from sae_lens_signaware import SignAwareGatedTrainingSAE, StateDictError
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
        ("negative_l0_weight", -1.0),
        ("negative_l0_weight", math.inf),
        ("init_negative_share", 1.5),
        ("init_negative_share", math.nan),
        ("unit_norm_decoder", "maybe"),
    ],
)
def test_bad_config_values_name_the_field(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=rf"\.{field} must be"):
        training_cfg(**{field: value})


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
    with pytest.raises(StateDictError, match="'W_dec' has non-finite values"):
        SAE.load_from_disk(tmp_path)


def test_resuming_a_checkpoint_with_wrong_tensors_fails_clearly(tmp_path) -> None:
    sae = SignAwareGatedTrainingSAE(training_cfg(tie_thresholds=False))
    sae.save_model(tmp_path)
    tied = SignAwareGatedTrainingSAE(training_cfg(tie_thresholds=True))
    with pytest.raises(StateDictError, match="missing tensor 'threshold'"):
        tied.load_weights_from_checkpoint(tmp_path)
