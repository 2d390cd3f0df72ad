"""Read a saved SAE or a dict config with errors that name the problem.

SAELens looks an architecture up with a bare ``dict[...]`` (``KeyError:
'sign_aware_gatd'``) and lets a truncated ``.safetensors`` file fail without
its name. ``load_sae`` and ``runner_config_from_dict`` check first:

- ``UnknownArchitectureError`` names the architecture, where it came from and
  the registered ones;
- ``SaeFileError`` names the missing, unreadable or truncated file.

Every command of this package loads SAEs through ``load_sae``.
"""

import json
from pathlib import Path
from typing import Any

from sae_lens import SAE, LanguageModelSAERunnerConfig
from sae_lens.constants import SAE_CFG_FILENAME, SAE_WEIGHTS_FILENAME
from sae_lens.registry import SAE_CLASS_REGISTRY, SAE_TRAINING_CLASS_REGISTRY
from safetensors import SafetensorError


class UnknownArchitectureError(ValueError):
    """An architecture no SAE class is registered for."""


class SaeFileError(OSError):
    """A file of a saved SAE is missing, unreadable or truncated."""


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


def read_sae_cfg(folder: str | Path) -> dict[str, Any]:
    """The ``cfg.json`` of a saved SAE, its architecture checked."""
    path = Path(folder) / SAE_CFG_FILENAME
    if not Path(folder).is_dir():
        raise SaeFileError(f"SAE folder {folder} does not exist or is not a folder")
    try:
        cfg = json.loads(path.read_text())
    except FileNotFoundError as error:
        raise SaeFileError(f"{path} is missing: {folder} is not a saved SAE") from error
    except json.JSONDecodeError as error:
        raise SaeFileError(f"{path} is not valid JSON ({error})") from error
    if not isinstance(cfg, dict):
        raise SaeFileError(f"{path} holds {type(cfg).__name__}, not a JSON object")
    check_architecture(cfg.get("architecture"), str(path))
    return cfg


def load_sae(folder: str | Path, device: str = "cpu") -> SAE[Any]:
    """``SAE.load_from_disk`` with the errors above."""
    read_sae_cfg(folder)
    weights = Path(folder) / SAE_WEIGHTS_FILENAME
    if not weights.is_file():
        raise SaeFileError(f"{weights} is missing")
    try:
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
