"""Strict types at every door: Python configs, cfg.json and dict configs, the main
job's ``--sae FIELD=VALUE`` and the train CLI. Bool words are parsed to the
boolean they mean, never stored as strings; everything else wrong is refused
with the field's name."""

import json
from typing import Any

import pytest
from sae_lens import SAE
from sae_lens.llm_sae_training_runner import _parse_cfg_args

from sae_lens_signaware import SignAwareGatedSAEConfig, SignAwareGatedTrainingSAEConfig
from sae_lens_signaware.checks import RunConfigError, check_run_config
from sae_lens_signaware.loading import (
    SaeFileError,
    UnknownArchitectureError,
    load_sae,
    runner_config_from_dict,
)
from sae_lens_signaware.saes.validation import parse_bool
from sae_lens_signaware_cli.flags import field_value as _field_value
from sae_lens_signaware_cli.main_job import main_job_config
from sae_lens_signaware_cli.train import split_our_flags

FALSE = [False, "False", "false", "FALSE", 0, "0", "no", "off"]
TRUE = [True, "True", "true", 1, "1", "yes", "on"]
BOOL_FIELDS = [
    "two_sided",
    "tie_thresholds",
    "aux_detach_decoder",
    "ste_to_input",
    "unit_norm_encoder",
    "reset_dead_thresholds",
    "learn_thresholds",
    "fused_step",
    "apply_b_dec_to_input",  # SAELens's
]


def training_cfg(**fields: Any) -> SignAwareGatedTrainingSAEConfig:
    return SignAwareGatedTrainingSAEConfig(**{"d_in": 16, "d_sae": 64, **fields})


@pytest.mark.parametrize("value", FALSE)
@pytest.mark.parametrize("field", BOOL_FIELDS)
def test_false_words_are_false(field: str, value: object) -> None:
    assert getattr(training_cfg(**{field: value}), field) is False


@pytest.mark.parametrize("value", TRUE)
def test_true_words_are_true(value: object) -> None:
    assert training_cfg(two_sided=value).two_sided is True


@pytest.mark.parametrize("value", ["maybe", 2, -1, 0.5, None, "", [True]])
def test_other_bool_values_are_refused(value: object) -> None:
    with pytest.raises(ValueError, match=r"\.tie_thresholds must be a bool"):
        training_cfg(tie_thresholds=value)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"d_sae": True}, r"d_sae must be an int, got True"),
        ({"d_in": 16.0}, r"d_in must be an int"),
        ({"d_sae": 0}, r"d_sae must be an int > 0"),
        ({"sparsity_warm_up_steps": "10"}, r"sparsity_warm_up_steps must be an int"),
        ({"l0_coefficient": "3"}, r"l0_coefficient must be a number"),
        ({"bandwidth": True}, r"bandwidth must be a number"),
        ({"target_l0": "8"}, r"target_l0 must be a number"),
        ({"target_l0": 1000}, r"target_l0 must be at most d_sae=64"),
        ({"sparsity": "L0"}, r"sparsity must be one of \('l1', 'l0'\)"),
        ({"normalize_activations": "yes"}, r"normalize_activations must be one of"),
        ({"dtype": "float17"}, r"dtype must be one of"),
        ({"dtype": 32}, r"dtype must be a string"),
        ({"device": "gpu"}, r"device must be a torch device"),
        ({"decoder_init_norm": -1}, r"decoder_init_norm must be None or a finite"),
        ({"decoder_init_norm": float("nan")}, r"decoder_init_norm"),
        ({"l0_coefficient": float("inf")}, r"l0_coefficient must be a finite"),
    ],
)
def test_wrong_types_and_ranges_name_the_field(
    fields: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        training_cfg(**fields)


def test_accepted_values_stay_as_given() -> None:
    cfg = training_cfg(
        device="cuda:1", dtype="bfloat16", target_l0=64, l0_coefficient=2
    )
    assert (cfg.device, cfg.dtype, cfg.target_l0, cfg.l0_coefficient) == (
        "cuda:1",
        "bfloat16",
        64,
        2,
    )


def test_parse_bool() -> None:
    assert [parse_bool(v) for v in ("No", " yes ", 1, 0, 2, "x")] == [
        False,
        True,
        True,
        False,
        None,
        None,
    ]


def test_cfg_json_bool_string_loads_as_its_boolean(tmp_path) -> None:
    sae = SAE.from_dict(SignAwareGatedSAEConfig(d_in=8, d_sae=16).to_dict())
    sae.save_model(tmp_path)
    cfg = json.loads((tmp_path / "cfg.json").read_text())
    cfg["two_sided"] = "false"
    (tmp_path / "cfg.json").write_text(json.dumps(cfg))
    assert load_sae(tmp_path).cfg.two_sided is False  # type: ignore[attr-defined]
    cfg["two_sided"] = "sometimes"
    (tmp_path / "cfg.json").write_text(json.dumps(cfg))
    with pytest.raises(ValueError, match="SignAwareGatedSAEConfig.two_sided"):
        load_sae(tmp_path)


def test_cfg_json_unknown_architecture_lists_the_registered(tmp_path) -> None:
    sae = SAE.from_dict(SignAwareGatedSAEConfig(d_in=8, d_sae=16).to_dict())
    sae.save_model(tmp_path)
    cfg = json.loads((tmp_path / "cfg.json").read_text())
    cfg["architecture"] = "sign_aware_gatd"
    (tmp_path / "cfg.json").write_text(json.dumps(cfg))
    with pytest.raises(UnknownArchitectureError) as exc:
        load_sae(tmp_path)
    message = str(exc.value)
    assert "'sign_aware_gatd' is not registered" in message
    assert (
        "cfg.json" in message
        and "sign_aware_gated" in message
        and "jumprelu" in message
    )


def test_truncated_weights_name_the_file(tmp_path) -> None:
    sae = SAE.from_dict(SignAwareGatedSAEConfig(d_in=8, d_sae=16).to_dict())
    sae.save_model(tmp_path)
    weights = tmp_path / "sae_weights.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    with pytest.raises(SaeFileError, match="sae_weights.safetensors cannot be read"):
        load_sae(tmp_path)
    weights.unlink()
    with pytest.raises(SaeFileError, match="sae_weights.safetensors is missing"):
        load_sae(tmp_path)
    with pytest.raises(SaeFileError, match="does not exist"):
        load_sae(tmp_path / "nothing")


def _runner_dict(**sae: Any) -> dict[str, Any]:
    return {
        "sae": {"architecture": "sign_aware_gated", "d_in": 128, "d_sae": 512, **sae},
        "model_name": "raincandy-u/TinyStories-656K",
        "hook_name": "blocks.1.hook_mlp_out",
        "dataset_path": "x",
        "logger": {"log_to_wandb": False},
    }


def test_dict_config_bool_strings_and_unknown_architecture() -> None:
    cfg = runner_config_from_dict(_runner_dict(two_sided="true", tie_thresholds="no"))
    assert cfg.sae.two_sided is True and cfg.sae.tie_thresholds is False
    cfg = runner_config_from_dict(_runner_dict(two_sided="false"))
    assert cfg.sae.two_sided is False
    with pytest.raises(
        UnknownArchitectureError, match="registered: .*sign_aware_gated"
    ):
        runner_config_from_dict(_runner_dict(architecture="sign_aware_gatd"))
    with pytest.raises(ValueError, match="d_sae must be an int"):
        runner_config_from_dict(_runner_dict(d_sae="512"))


@pytest.mark.parametrize("text", ["False", "false", "0", "no"])
def test_main_job_sae_flag_false_words(text: str) -> None:
    field, value = _field_value(f"two_sided={text}")
    cfg = main_job_config(output=None, **{field: value})
    assert cfg.sae.two_sided is False


def test_main_job_sae_flag_bad_values() -> None:
    with pytest.raises(ValueError, match="two_sided must be a bool"):
        main_job_config(output=None, **dict([_field_value("two_sided=maybe")]))
    with pytest.raises(ValueError, match=r"unknown .* field\(s\) \['tow_sided'\]"):
        main_job_config(output=None, tow_sided=False)
    with pytest.raises(ValueError, match="d_sae must be an int"):
        main_job_config(output=None, **dict([_field_value("d_sae=true")]))


CLI = [
    "--architecture",
    "sign_aware_gated",
    "--d_in",
    "128",
    "--d_sae",
    "512",
    "--model_name",
    "m",
    "--hook_name",
    "h",
    "--dataset_path",
    "d",
    "--log_to_wandb",
    "False",
]


@pytest.mark.parametrize("text", ["False", "false", "0", "no"])
def test_train_cli_false_words(text: str) -> None:
    assert _parse_cfg_args([*CLI, "--two_sided", text]).sae.two_sided is False


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--dtype", "float17"], "dtype must be one of"),
        (["--device", "gpu"], "device must be a torch device"),
        (["--training_tokens", "0"], "training_tokens=0 is less than one batch"),
    ],
)
def test_train_cli_runner_fields(flags: list[str], message: str) -> None:
    with pytest.raises(
        RunConfigError if "tokens" in message else ValueError, match=message
    ):
        check_run_config(_parse_cfg_args([*CLI, *flags]))


def test_train_cli_refuses_bad_sae_values() -> None:
    with pytest.raises(ValueError, match="target_l0 must be at most d_sae=512"):
        _parse_cfg_args([*CLI, "--target_l0", "1000"])


def test_train_cli_our_flags_are_taken_out() -> None:
    rest, flags = split_our_flags([*CLI, "--overwrite"])
    assert rest == CLI and flags == {
        "overwrite": True,
        "skip_non_finite_batches": False,
    }


def test_empty_dataset_is_named(tmp_path) -> None:
    (tmp_path / "train.jsonl").write_text("")
    cfg = _parse_cfg_args([*CLI, "--dataset_path", str(tmp_path)])
    with pytest.raises(
        RunConfigError, match=f"dataset_path '{tmp_path}' holds no data"
    ):
        check_run_config(cfg)
