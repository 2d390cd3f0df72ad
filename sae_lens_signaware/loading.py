"""Read a saved SAE or a dict config with errors that name the file and the key.

SAELens looks an architecture up with a bare ``dict[...]`` (``KeyError:
'sign_aware_gatd'``), builds the config with a ``TypeError`` for a missing
``d_sae``, casts every stored tensor to the config's dtype before any check
(an ``int32`` ``W_enc`` arrives as float) and lets a truncated ``.safetensors``
file fail without its name. ``load_sae`` checks first:

- ``read_sae_cfg``: ``cfg.json`` is a UTF-8 JSON object with a registered
  ``architecture`` (``UnknownArchitectureError``) and positive integer
  ``d_in`` and ``d_sae`` (``SaeFileError``); values its architecture's config
  refuses raise ``SaeConfigError``;
- ``check_sae_weights``: every tensor of ``sae_weights.safetensors`` is stored
  in a floating-point dtype whose values survive the cast to the config's
  dtype exactly, has the shape the config gives it (the keys and shapes of the
  SAE built from the config, after its own ``process_state_dict_for_loading``)
  and is finite (``SaeTensorError``, naming the file and each key);
- ``check_sparsity``: a ``sparsity.safetensors`` beside it (which SAELens's
  ``from_pretrained`` reads) holds one finite ``sparsity`` of shape ``(d_sae,)``;
- ``SaeFileError`` names a missing, unreadable, truncated or corrupt file.

The weights are read twice (checked here, then loaded by ``SAE.load_from_disk``,
from the page cache). Every command of this package loads SAEs through
``load_sae``.
"""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from packaging.version import InvalidVersion, Version
from sae_lens import SAE, LanguageModelSAERunnerConfig
from sae_lens.constants import (
    SAE_CFG_FILENAME,
    SAE_WEIGHTS_FILENAME,
    SPARSITY_FILENAME,
)
from sae_lens.loading.pretrained_sae_loaders import handle_config_defaulting
from sae_lens.registry import SAE_CLASS_REGISTRY, SAE_TRAINING_CLASS_REGISTRY
from sae_lens.saes.sae import SAEConfig
from sae_lens.util import str_to_dtype
from safetensors import SafetensorError, safe_open

from sae_lens_signaware.errors import StateDictError
from sae_lens_signaware.saes.state_dict import reading

#: safetensors header dtype -> torch dtype
SAFETENSORS_DTYPES: dict[str, torch.dtype] = {
    "BOOL": torch.bool,
    "U8": torch.uint8,
    "I8": torch.int8,
    "I16": torch.int16,
    "U16": torch.uint16,
    "I32": torch.int32,
    "U32": torch.uint32,
    "I64": torch.int64,
    "U64": torch.uint64,
    "F16": torch.float16,
    "BF16": torch.bfloat16,
    "F32": torch.float32,
    "F64": torch.float64,
    "F8_E4M3": torch.float8_e4m3fn,
    "F8_E5M2": torch.float8_e5m2,
    "C64": torch.complex64,
}
#: elements per chunk when checking a tensor's values
CHUNK = 1 << 22


class UnknownArchitectureError(ValueError):
    """An architecture no SAE class is registered for."""


class SaeFileError(OSError):
    """A file of a saved SAE is missing, unreadable, truncated or malformed."""


class SaeConfigError(ValueError):
    """A ``cfg.json`` value its architecture's config class refuses; names the file."""


class SaeTensorError(StateDictError):
    """Tensors of a weights file that do not fit the SAE's config (any
    architecture): ``problems`` names each key, ``source`` the file."""

    def __init__(self, problems: list[str], source: str) -> None:
        super().__init__(problems, source)
        self.args = (
            f"{source}: tensors do not fit the SAE's {SAE_CFG_FILENAME}: "
            + "; ".join(problems),
        )


def check_architecture(
    architecture: object, source: str, training: bool = False
) -> str:
    """Return ``architecture`` if registered, else raise ``UnknownArchitectureError``."""
    registry = SAE_TRAINING_CLASS_REGISTRY if training else SAE_CLASS_REGISTRY
    if not isinstance(architecture, str) or architecture not in registry:
        known = ", ".join(sorted(registry))
        raise UnknownArchitectureError(
            f"{source}: architecture {architecture!r} is not registered "
            f"(registered: {known}); import the package that defines it "
            "(e.g. sae_lens_signaware) or fix the name"
        )
    return architecture


def _saved_before_6(cfg: dict[str, Any]) -> bool:
    """Whether SAELens reads ``cfg`` as a pre-6.0 config (no architecture: standard)."""
    metadata = cfg.get("metadata")
    version = cfg.get("sae_lens_version") or (
        metadata.get("sae_lens_version") if isinstance(metadata, dict) else None
    )
    if not version:
        return True
    try:
        return Version(str(version)) < Version("6.0.0-rc.0")
    except InvalidVersion:
        return False


def read_sae_cfg(folder: str | Path) -> dict[str, Any]:
    """The ``cfg.json`` of a saved SAE: a UTF-8 JSON object with a registered
    architecture and positive integer ``d_in`` and ``d_sae``."""
    path = Path(folder) / SAE_CFG_FILENAME
    if not Path(folder).is_dir():
        raise SaeFileError(f"SAE folder {folder} does not exist or is not a folder")
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError as error:
        raise SaeFileError(f"{path} is missing: {folder} is not a saved SAE") from error
    except IsADirectoryError as error:
        raise SaeFileError(f"{path} is a folder, not a file") from error
    except OSError as error:
        raise SaeFileError(f"{path} cannot be read ({error})") from error
    except UnicodeDecodeError as error:
        raise SaeFileError(
            f"{path} is not UTF-8 text (byte {error.start}: {error.reason})"
        ) from error
    try:
        cfg = json.loads(text)
    except json.JSONDecodeError as error:
        raise SaeFileError(f"{path} is not valid JSON ({error})") from error
    if not isinstance(cfg, dict):
        raise SaeFileError(f"{path} holds {type(cfg).__name__}, not a JSON object")
    architecture = cfg.get("architecture")
    if architecture is None and _saved_before_6(cfg):
        architecture = "standard"  # as SAELens reads a pre-6.0 config
    check_architecture(architecture, str(path))
    for key in ("d_in", "d_sae"):
        if key not in cfg:
            raise SaeFileError(f"{path} has no {key!r}: the SAE's size is unknown")
        value = cfg[key]
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise SaeFileError(f"{path}: {key}={value!r} is not a positive integer")
    return cfg


def sae_config(folder: str | Path, cfg: dict[str, Any]) -> SAEConfig:
    """The SAE config ``SAE.load_from_disk`` builds from ``cfg`` (read from
    ``folder``); ``SaeConfigError`` names the file for a value it refuses."""
    path = Path(folder) / SAE_CFG_FILENAME
    try:
        defaulted = handle_config_defaulting(dict(cfg))
        config_cls = SAE.get_sae_config_class_for_architecture(
            defaulted["architecture"]
        )
        sae_cfg = config_cls.from_dict(defaulted)
        str_to_dtype(sae_cfg.dtype)  # "Invalid dtype: float33. Must be one of ..."
        return sae_cfg
    except (TypeError, ValueError, KeyError) as error:
        raise SaeConfigError(f"{path}: {error}") from error


def _widens(stored: torch.dtype, target: torch.dtype) -> bool:
    """Whether every value of the float dtype ``stored`` is one of ``target``."""
    if stored == target:
        return True
    have, want = torch.finfo(stored), torch.finfo(target)
    return want.eps <= have.eps and want.max >= have.max and want.tiny <= have.tiny


def _dtype_name(code: str) -> str:
    dtype = SAFETENSORS_DTYPES.get(code)
    return str(dtype) if dtype is not None else code


def _value_problems(name: str, tensor: torch.Tensor, target: torch.dtype) -> list[str]:
    """Non-finite values, and values the cast to ``target`` changes."""
    exact = _widens(tensor.dtype, target)
    flat = tensor.reshape(-1)
    non_finite = changed = 0
    for start in range(0, flat.numel(), CHUNK):
        chunk = flat[start : start + CHUNK]
        wide = chunk.to(torch.float64)  # float8 has no isfinite
        finite = torch.isfinite(wide)
        non_finite += int((~finite).sum())
        if not exact:
            cast = chunk.to(target).to(torch.float64)
            changed += int(((cast != wide) & finite).sum())
    problems: list[str] = []
    if non_finite:
        problems.append(f"{name!r} has {non_finite} non-finite values (NaN or inf)")
    if changed:
        problems.append(
            f"{name!r} is stored as {tensor.dtype} and {changed} of {flat.numel()} "
            f'values change when cast to the config\'s {target} (set "dtype" in '
            f"{SAE_CFG_FILENAME} to {str(tensor.dtype).removeprefix('torch.')!r} "
            "to keep them)"
        )
    return problems


def _probe_keys(
    sae: SAE[Any], stored: dict[str, tuple[int, ...]], dtype: torch.dtype
) -> list[str]:
    """Missing, unexpected and misshapen keys: the stored shapes, as meta tensors,
    through the SAE's ``process_state_dict_for_loading`` (renames, upgrades,
    its own checks), against the freshly built SAE's state dict."""
    raw = {
        name: torch.empty(shape, dtype=dtype, device="meta")
        for name, shape in stored.items()
        if name != "scaling_factor"  # SAELens's reader folds or drops it
    }
    probe = dict(raw)
    try:
        sae.process_state_dict_for_loading(probe)
    except StateDictError as error:
        return list(error.problems)
    except (RuntimeError, NotImplementedError):  # an upgrade that needs values
        probe = raw
    expected = {name: tuple(t.shape) for name, t in sae.state_dict().items()}
    problems = [f"missing tensor {name!r}" for name in expected if name not in probe]
    for name, tensor in probe.items():
        if name not in expected:
            problems.append(f"unexpected tensor {name!r}")
        elif tuple(tensor.shape) != expected[name]:
            problems.append(
                f"{name!r} has shape {tuple(tensor.shape)}, expected {expected[name]} "
                f"(d_in={sae.cfg.d_in}, d_sae={sae.cfg.d_sae})"
            )
    return problems


@contextmanager
def _open_safetensors(path: Path) -> Iterator[Any]:
    """``safe_open(path)`` with ``SaeFileError`` naming a missing, folder,
    unreadable, truncated or corrupt file."""
    if path.is_dir():
        raise SaeFileError(f"{path} is a folder, not a safetensors file")
    if not path.is_file():
        raise SaeFileError(f"{path} is missing")
    try:
        with safe_open(path, framework="pt", device="cpu") as f:
            yield f
    except (SafetensorError, OSError) as error:
        if isinstance(error, SaeFileError):
            raise
        raise SaeFileError(
            f"{path} cannot be read (truncated or not safetensors): {error}"
        ) from error


def check_sae_weights(weights: str | Path, cfg: SAEConfig) -> None:
    """Raise ``SaeTensorError`` naming ``weights`` and every tensor with a
    non-float dtype, a value the cast to ``cfg.dtype`` changes, a key or shape
    the SAE of ``cfg`` does not have, or a NaN or inf; ``SaeFileError`` if the
    file cannot be read."""
    weights = Path(weights)
    source = str(weights)
    target = str_to_dtype(cfg.dtype)
    problems: list[str] = []
    with _open_safetensors(weights) as f:
        stored: dict[str, tuple[int, ...]] = {}
        floats: list[str] = []
        for name in f.keys():  # noqa: SIM118  (a safe_open handle, not a dict)
            tensor_slice = f.get_slice(name)
            stored[name] = tuple(tensor_slice.get_shape())
            code = tensor_slice.get_dtype()
            dtype = SAFETENSORS_DTYPES.get(code)
            if dtype is None or not dtype.is_floating_point:
                problems.append(
                    f"{name!r} has dtype {_dtype_name(code)}, not a floating-point "
                    f"dtype (the config's dtype is {target})"
                )
            else:
                floats.append(name)
        sae = SAE.from_dict({**cfg.to_dict(), "device": "meta"})
        with reading(source):
            problems += _probe_keys(sae, stored, target)
        if problems:
            raise SaeTensorError(problems, source)
        for name in floats:
            problems += _value_problems(name, f.get_tensor(name), target)
    if problems:
        raise SaeTensorError(problems, source)


def check_sparsity(path: str | Path, d_sae: int) -> None:
    """Raise ``SaeFileError`` unless ``path`` holds exactly one finite
    floating-point tensor ``sparsity`` of shape ``(d_sae,)``."""
    path = Path(path)
    with _open_safetensors(path) as f:
        names = list(f.keys())
        if names != ["sparsity"]:
            raise SaeFileError(
                f"{path} holds {names}, expected one tensor 'sparsity' "
                "(the log10 firing rate of each latent)"
            )
        sparsity = f.get_tensor("sparsity")
    if not sparsity.is_floating_point():
        raise SaeFileError(
            f"{path}: 'sparsity' has dtype {sparsity.dtype}, not a floating-point dtype"
        )
    if tuple(sparsity.shape) != (d_sae,):
        raise SaeFileError(
            f"{path}: 'sparsity' has shape {tuple(sparsity.shape)}, expected "
            f"({d_sae},) (d_sae={d_sae})"
        )
    bad = int((~torch.isfinite(sparsity.to(torch.float64))).sum())
    if bad:
        raise SaeFileError(f"{path}: 'sparsity' has {bad} non-finite values")


def load_sae(folder: str | Path, device: str = "cpu") -> SAE[Any]:
    """``SAE.load_from_disk`` after the checks above; its own errors, and its
    ``NegativeThresholdWarning``, name the weights file."""
    cfg = sae_config(folder, read_sae_cfg(folder))
    weights = Path(folder) / SAE_WEIGHTS_FILENAME
    check_sae_weights(weights, cfg)
    sparsity = Path(folder) / SPARSITY_FILENAME
    if sparsity.exists() or sparsity.is_symlink():
        check_sparsity(sparsity, cfg.d_sae)
    try:
        with reading(str(weights)):
            return SAE.load_from_disk(folder, device=device)
    except SafetensorError as error:
        raise SaeFileError(
            f"{weights} cannot be read (truncated or not safetensors): {error}"
        ) from error


def runner_config_from_dict(
    cfg_dict: dict[str, Any],
) -> LanguageModelSAERunnerConfig[Any]:
    """``LanguageModelSAERunnerConfig.from_dict`` with the architecture checked."""
    sae = cfg_dict.get("sae")
    architecture = sae.get("architecture") if isinstance(sae, dict) else None
    check_architecture(architecture, "runner config 'sae'", training=True)
    return LanguageModelSAERunnerConfig.from_dict(cfg_dict)
