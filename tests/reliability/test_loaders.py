"""The loaders refuse damaged files by name: ``load_sae`` checks every tensor's
stored dtype, shape and values, ``cfg.json`` and ``sparsity.safetensors``
before SAELens loads them; ``load_hooked_model`` names a damaged file of the
hub cache."""

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import huggingface_hub.constants
import pytest
import torch
from sae_lens import SAE
from sae_lens.registry import SAE_CLASS_REGISTRY
from safetensors.torch import load_file, save_file

from sae_lens_signaware import SignAwareGatedSAE, SignAwareGatedSAEConfig
from sae_lens_signaware.errors import StateDictError
from sae_lens_signaware.loading import (
    SaeConfigError,
    SaeFileError,
    SaeTensorError,
    load_sae,
)
from sae_lens_signaware.models import (
    ModelFileError,
    ModelNotFoundError,
    load_hooked_model,
)
from sae_lens_signaware.saes.state_dict import NegativeThresholdWarning
from sae_lens_signaware_cli.assets import DEFAULT_MODEL, hub_cache_dir
from sae_lens_signaware_cli.cli import main as cli_main

D_IN, D_SAE = 8, 16
WEIGHTS = "sae_weights.safetensors"
FILE = r"sae_weights\.safetensors"


def saved(folder: Path, **fields: Any) -> Path:
    """A freshly built SA-GSAE saved in ``folder``."""
    cfg = SignAwareGatedSAEConfig(d_in=D_IN, d_sae=D_SAE, **fields)
    SAE.from_dict(cfg.to_dict()).save_model(folder)
    return folder


def edit_weights(
    folder: Path, edit: Callable[[dict[str, torch.Tensor]], object]
) -> None:
    state = load_file(folder / WEIGHTS)
    edit(state)
    save_file(state, folder / WEIGHTS)


def edit_cfg(folder: Path, edit: Callable[[dict[str, Any]], None]) -> None:
    cfg = json.loads((folder / "cfg.json").read_text())
    edit(cfg)
    (folder / "cfg.json").write_text(json.dumps(cfg))


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return saved(tmp_path / "sae")


# 1. stored dtypes, shapes and values


def test_int32_w_enc_is_refused_naming_the_key_and_the_file(folder: Path) -> None:
    def to_int(state: dict[str, torch.Tensor]) -> None:
        state["W_enc"] = torch.randint(-1, 2, (D_IN, D_SAE), dtype=torch.int32)

    edit_weights(folder, to_int)
    with pytest.raises(SaeTensorError) as error:
        load_sae(folder)
    assert isinstance(error.value, StateDictError)
    assert error.value.source == str(folder / WEIGHTS)
    assert "'W_enc' has dtype torch.int32, not a floating-point dtype" in str(
        error.value
    )
    assert str(folder / WEIGHTS) in str(error.value)


def test_dashboard_refuses_an_int32_w_enc_before_the_model(
    folder: Path, tmp_path: Path
) -> None:
    edit_weights(folder, lambda s: s.update(W_enc=s["W_enc"].to(torch.int32)))
    site = tmp_path / "site"
    argv = ["dashboard", "--sae", str(folder), "--output", str(site)]
    with pytest.raises(SystemExit, match=rf"error: .*{FILE}.*'W_enc' has dtype"):
        cli_main(argv)
    assert not site.exists()


def test_bool_tensor_is_refused(folder: Path) -> None:
    edit_weights(folder, lambda s: s.update(b_gate=s["b_gate"] > 0))
    with pytest.raises(SaeTensorError, match=rf"{FILE}.*'b_gate' has dtype torch.bool"):
        load_sae(folder)


def test_float64_values_that_the_float32_cast_changes_are_refused(
    folder: Path,
) -> None:
    def to_float64(state: dict[str, torch.Tensor]) -> None:
        for name in state:
            state[name] = state[name].double()
        state["W_dec"][0, 0] = 0.1  # not a float32 value
        state["b_dec"][1] = 1e300  # beyond float32

    edit_weights(folder, to_float64)
    with pytest.raises(
        SaeTensorError,
        match=rf"{FILE}.*'W_dec' is stored as torch.float64 and 1 of 128 values "
        r"change .*float32.*'b_dec' is stored as torch.float64 and 1 of 8",
    ):
        load_sae(folder)


def test_float64_values_exact_in_float32_load(folder: Path) -> None:
    expected = load_file(folder / WEIGHTS)
    edit_weights(folder, lambda s: s.update({k: v.double() for k, v in s.items()}))
    sae = load_sae(folder)
    assert sae.W_enc.dtype == torch.float32
    torch.testing.assert_close(sae.W_enc.data, expected["W_enc"], rtol=0, atol=0)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_weights_load_into_a_float32_config(
    folder: Path, dtype: torch.dtype
) -> None:
    edit_weights(folder, lambda s: s.update({k: v.to(dtype) for k, v in s.items()}))
    half = load_file(folder / WEIGHTS)
    sae = load_sae(folder)
    assert sae.W_dec.dtype == torch.float32
    assert torch.equal(sae.W_dec.data, half["W_dec"].float())


def test_misshapen_tensor_names_the_file_and_the_key(folder: Path) -> None:
    edit_weights(folder, lambda s: s.update(b_mag=torch.zeros(5)))
    with pytest.raises(
        SaeTensorError, match=rf"{FILE}.*'b_mag' has shape \(5,\), expected \(16,\)"
    ):
        load_sae(folder)


def test_unexpected_tensor_is_named(folder: Path) -> None:
    edit_weights(folder, lambda s: s.update(b_enc=torch.zeros(D_SAE)))
    with pytest.raises(SaeTensorError, match=rf"{FILE}.*unexpected tensor 'b_enc'"):
        load_sae(folder)


@pytest.mark.parametrize("name", ["W_enc_neg", "b_gate_neg", "b_mag_neg", "r_mag_neg"])
def test_per_sign_sae_missing_a_negative_side_tensor_is_named(
    tmp_path: Path, name: str
) -> None:
    folder = saved(tmp_path / "sae", sign_encoders="per_sign")
    assert isinstance(load_sae(folder), SignAwareGatedSAE)
    edit_weights(folder, lambda s: s.pop(name))
    with pytest.raises(SaeTensorError, match=rf"{FILE}.*missing tensor '{name}'"):
        load_sae(folder)


def test_per_sign_sae_with_a_misshapen_negative_encoder_is_named(
    tmp_path: Path,
) -> None:
    folder = saved(tmp_path / "sae", sign_encoders="per_sign")
    edit_weights(
        folder, lambda s: s.update(W_enc_neg=s["W_enc_neg"][:, :4].contiguous())
    )
    with pytest.raises(
        SaeTensorError, match=r"'W_enc_neg' has shape \(8, 4\), expected \(8, 16\)"
    ):
        load_sae(folder)


@pytest.mark.parametrize("architecture", ["standard", "gated", "jumprelu", "topk"])
def test_shapes_of_sae_lens_architectures_are_checked(
    tmp_path: Path, architecture: str
) -> None:
    sae_cls, cfg_cls = SAE_CLASS_REGISTRY[architecture]
    extra: dict[str, Any] = {"k": 4} if architecture == "topk" else {}
    sae_cls(cfg_cls(d_in=D_IN, d_sae=D_SAE, **extra)).save_model(tmp_path)
    assert type(load_sae(tmp_path)) is sae_cls
    edit_weights(tmp_path, lambda s: s.update(W_dec=s["W_dec"][:3].contiguous()))
    with pytest.raises(
        SaeTensorError, match=rf"{FILE}.*'W_dec' has shape \(3, 8\), expected \(16, 8\)"
    ):
        load_sae(tmp_path)


def test_non_finite_tensor_names_the_file_and_the_key(folder: Path) -> None:
    def poison(state: dict[str, torch.Tensor]) -> None:
        state["r_mag"][[1, 4]] = torch.tensor([float("nan"), float("inf")])

    edit_weights(folder, poison)
    with pytest.raises(SaeTensorError, match=rf"{FILE}.*'r_mag' has 2 non-finite"):
        load_sae(folder)


# 2. what SAE.load_from_disk (SAELens's entry point) sees and does not


def test_sae_lens_refuses_an_all_zero_int_w_enc(folder: Path) -> None:
    edit_weights(folder, lambda s: s.update(W_enc=torch.zeros(D_IN, D_SAE).int()))
    with pytest.raises(StateDictError, match="'W_enc' is all zeros"):
        SAE.load_from_disk(folder)


def test_int_w_enc_of_small_values_passes_sae_lens_but_not_load_sae(
    folder: Path,
) -> None:
    """Truncated to int (0/1/-1), W_enc reaches the SAE's checks as float: only
    ``load_sae``, which reads the stored dtype, can refuse it."""
    small = torch.tensor([0, 1, -1], dtype=torch.int32).repeat(D_IN * D_SAE)
    small = small[: D_IN * D_SAE].reshape(D_IN, D_SAE)
    edit_weights(folder, lambda s: s.update(W_enc=small))
    assert torch.equal(SAE.load_from_disk(folder).W_enc.data, small.float())
    with pytest.raises(SaeTensorError, match=rf"{FILE}.*'W_enc' has dtype torch.int32"):
        load_sae(folder)


# 3. cfg.json


def test_cfg_json_not_utf8_is_named(folder: Path) -> None:
    cfg = folder / "cfg.json"
    cfg.write_bytes(cfg.read_bytes().replace(b'"none"', b'"n\xe9ne"', 1))
    with pytest.raises(SaeFileError, match=r"cfg\.json is not UTF-8 text"):
        load_sae(folder)


def test_cfg_json_not_an_object_is_named(folder: Path) -> None:
    (folder / "cfg.json").write_text("[8, 16]")
    with pytest.raises(SaeFileError, match=r"cfg\.json holds list, not a JSON object"):
        load_sae(folder)


def test_cfg_json_not_json_is_named(folder: Path) -> None:
    (folder / "cfg.json").write_text('{"d_in": 8,')
    with pytest.raises(SaeFileError, match=r"cfg\.json is not valid JSON"):
        load_sae(folder)


@pytest.mark.parametrize("key", ["d_in", "d_sae"])
def test_cfg_json_missing_size_names_the_key_and_the_file(
    folder: Path, key: str
) -> None:
    edit_cfg(folder, lambda cfg: cfg.pop(key))
    with pytest.raises(SaeFileError, match=rf"cfg\.json has no '{key}'"):
        load_sae(folder)


@pytest.mark.parametrize("value", ["16", 16.0, 0, True, None])
def test_cfg_json_non_integer_d_sae_is_named(folder: Path, value: object) -> None:
    edit_cfg(folder, lambda cfg: cfg.update(d_sae=value))
    with pytest.raises(SaeFileError, match=r"cfg\.json: d_sae=.* is not a positive"):
        load_sae(folder)


def test_cfg_json_value_the_config_refuses_names_the_file(folder: Path) -> None:
    edit_cfg(folder, lambda cfg: cfg.update(sign_encoders="both"))
    with pytest.raises(SaeConfigError, match=r"cfg\.json: .*sign_encoders"):
        load_sae(folder)


def test_cfg_json_unknown_dtype_names_the_file(folder: Path) -> None:
    edit_cfg(folder, lambda cfg: cfg.update(dtype="float33"))
    with pytest.raises(SaeConfigError, match=r"cfg\.json: .*dtype.*float33"):
        load_sae(folder)


def test_cfg_json_that_is_a_folder_is_named(tmp_path: Path) -> None:
    (tmp_path / "cfg.json").mkdir()
    with pytest.raises(SaeFileError, match=r"cfg\.json is a folder, not a file"):
        load_sae(tmp_path)


# 4. the weights file itself


def test_weights_file_that_is_a_folder_is_named(folder: Path) -> None:
    (folder / WEIGHTS).unlink()
    (folder / WEIGHTS).mkdir()
    with pytest.raises(SaeFileError, match=rf"{FILE} is a folder, not a safetensors"):
        load_sae(folder)


def test_truncated_weights_file_is_named(folder: Path) -> None:
    weights = folder / WEIGHTS
    weights.write_bytes(weights.read_bytes()[:-10])
    with pytest.raises(SaeFileError, match=rf"{FILE} cannot be read \(truncated"):
        load_sae(folder)


def test_corrupt_weights_header_is_named(folder: Path) -> None:
    weights = folder / WEIGHTS
    data = weights.read_bytes()
    weights.write_bytes(data[:8] + b"#" * 20 + data[28:])
    with pytest.raises(SaeFileError, match=rf"{FILE} cannot be read"):
        load_sae(folder)


# 5. sparsity.safetensors beside the weights

SPARSITY = r"sparsity\.safetensors"


def test_a_trained_output_and_its_sparsity_pass_the_checks(
    trained: dict[str, Any],
) -> None:
    assert (trained["output"] / "sparsity.safetensors").is_file()
    sae = load_sae(trained["output"])
    assert torch.equal(sae.W_enc.data, SAE.load_from_disk(trained["output"]).W_enc)


def test_good_sparsity_file_loads(folder: Path) -> None:
    save_file({"sparsity": torch.full((D_SAE,), -3.0)}, folder / "sparsity.safetensors")
    assert isinstance(load_sae(folder), SignAwareGatedSAE)


def test_truncated_sparsity_file_is_named(folder: Path) -> None:
    path = folder / "sparsity.safetensors"
    save_file({"sparsity": torch.zeros(D_SAE)}, path)
    path.write_bytes(path.read_bytes()[:-4])
    with pytest.raises(SaeFileError, match=rf"{SPARSITY} cannot be read"):
        load_sae(folder)


def test_misshapen_sparsity_is_named(folder: Path) -> None:
    save_file({"sparsity": torch.zeros(3)}, folder / "sparsity.safetensors")
    with pytest.raises(
        SaeFileError,
        match=rf"{SPARSITY}: 'sparsity' has shape \(3,\), expected \(16,\)",
    ):
        load_sae(folder)


def test_sparsity_with_other_tensors_is_named(folder: Path) -> None:
    save_file({"log_sparsity": torch.zeros(D_SAE)}, folder / "sparsity.safetensors")
    with pytest.raises(SaeFileError, match=rf"{SPARSITY} holds \['log_sparsity'\]"):
        load_sae(folder)


def test_non_finite_sparsity_is_named(folder: Path) -> None:
    values = torch.zeros(D_SAE)
    values[2] = float("-inf")
    save_file({"sparsity": values}, folder / "sparsity.safetensors")
    with pytest.raises(SaeFileError, match=rf"{SPARSITY}: 'sparsity' has 1 non-finite"):
        load_sae(folder)


# 6. negative thresholds: a named warning, not an error


def test_negative_thresholds_warn_naming_the_file(folder: Path) -> None:
    def lower(state: dict[str, torch.Tensor]) -> None:
        state["threshold_pos"].fill_(1.0)  # theta_pos + theta_neg stays > 0
        state["threshold_neg"][:2] = -0.5

    edit_weights(folder, lower)
    with pytest.warns(
        NegativeThresholdWarning,
        match=rf"threshold_neg has 2 negative values in .*{FILE}: 0 latents",
    ):
        load_sae(folder)


def test_negative_thresholds_that_open_both_gates_still_give_one_value(
    folder: Path,
) -> None:
    """With theta_pos + theta_neg < 0 both gates can open; the latent is then
    relu(pi_mag) - relu(-pi_mag) = pi_mag, defined (here x @ W_enc)."""

    def open_both(state: dict[str, torch.Tensor]) -> None:
        for name in ("b_dec", "b_gate", "b_mag", "r_mag"):
            state[name].zero_()
        state["threshold_pos"].fill_(-1.0)
        state["threshold_neg"].fill_(-1.0)

    edit_weights(folder, open_both)
    with pytest.warns(NegativeThresholdWarning, match="16 latents have"):
        sae = load_sae(folder)
    x = torch.randn(32, D_IN)
    torch.testing.assert_close(sae.encode(x), x @ sae.W_enc.data)


# 7. model files in the hub cache


@pytest.fixture
def hub_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A writable copy of the offline hub cache, in use until the test ends."""
    hub = tmp_path / "hub"
    shutil.copytree(hub_cache_dir(), hub, copy_function=shutil.copyfile)
    for path in (hub, *hub.rglob("*")):
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    monkeypatch.setenv("HF_HUB_CACHE", str(hub))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(hub))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    return hub


def _snapshot_file(hub: Path, name: str) -> Path:
    (path,) = hub.glob(f"models--*/snapshots/*/{name}")
    return path


def test_truncated_model_weights_name_the_model_and_the_file(hub_copy: Path) -> None:
    weights = _snapshot_file(hub_copy, "model.safetensors")
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    with pytest.raises(ModelFileError) as error:
        load_hooked_model(DEFAULT_MODEL)
    assert f"model {DEFAULT_MODEL!r} cannot be loaded" in str(error.value)
    assert f"{weights} (SafetensorError" in str(error.value)


def test_corrupt_model_header_names_the_file(hub_copy: Path) -> None:
    weights = _snapshot_file(hub_copy, "model.safetensors")
    data = weights.read_bytes()
    weights.write_bytes(data[:8] + b"\x00" * 16 + data[24:])
    with pytest.raises(ModelFileError, match=r"model\.safetensors \(SafetensorError"):
        load_hooked_model(DEFAULT_MODEL)


def test_corrupt_model_config_names_the_file(hub_copy: Path) -> None:
    config = _snapshot_file(hub_copy, "config.json")
    config.write_text(config.read_text()[:50])
    with pytest.raises(ModelFileError, match=r"config\.json \(JSONDecodeError"):
        load_hooked_model(DEFAULT_MODEL)


def test_model_cached_without_weights_is_not_found(hub_copy: Path) -> None:
    _snapshot_file(hub_copy, "model.safetensors").unlink()
    with pytest.raises(ModelNotFoundError, match=rf"model {DEFAULT_MODEL!r} was not"):
        load_hooked_model(DEFAULT_MODEL)


@pytest.mark.usefixtures("hub_copy")
def test_missing_model_stays_model_not_found() -> None:
    with pytest.raises(ModelNotFoundError, match="'raincandy-u/TinyStories-1M'"):
        load_hooked_model("raincandy-u/TinyStories-1M")
