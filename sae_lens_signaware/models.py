"""Load a local Hugging Face causal LM as a TransformerLens ``HookedSAETransformer``.

TransformerLens only accepts its list of official model names. For any other
Llama-style checkpoint in the hub cache we build the ``HookedTransformerConfig``
from the local ``config.json`` with TransformerLens's own
``convert_hf_model_config`` and its weight conversion, with no processing
(like ``from_pretrained_no_processing``), so hook names are TransformerLens's
(``blocks.1.hook_mlp_out``).

A model missing from the cache (or cached without its weights) raises
``ModelNotFoundError``; a load that fails on a damaged file of the cached
snapshot (a truncated or corrupt ``.safetensors``, ``.bin`` or ``.json``, a
broken link) raises ``ModelFileError`` naming the model and the file. Damaged
tensor data behind an intact header is not seen.
"""

import json
import re
import zipfile
from pathlib import Path

import torch
from huggingface_hub import snapshot_download
from sae_lens import HookedSAETransformer
from safetensors import safe_open
from transformer_lens.config import HookedTransformerConfig
from transformer_lens.loading_from_pretrained import (
    convert_hf_model_config,
    get_pretrained_state_dict,
)
from transformers import AutoModelForCausalLM, AutoTokenizer

from sae_lens_signaware.upstream_messages import quiet


class ModelNotFoundError(FileNotFoundError):
    """The model is not in the local hub cache (or the hub cannot be reached)."""


def model_not_found(model_name: str, error: BaseException) -> ModelNotFoundError:
    """A ``ModelNotFoundError`` naming ``model_name`` and where it was looked for."""
    from huggingface_hub import constants

    where = f"the hub cache {constants.HF_HUB_CACHE}"
    if constants.HF_HUB_OFFLINE:
        where += " (offline: HF_HUB_OFFLINE=1)"
    return ModelNotFoundError(
        f"model {model_name!r} was not found in {where}; check the name "
        f"(e.g. raincandy-u/TinyStories-656K) or download it first ({error})"
    )


class ModelFileError(OSError):
    """A file of a cached model is truncated, corrupt or unreadable."""


def damaged_file(path: Path) -> str | None:
    """What is wrong with the model file ``path`` (by its suffix), or None."""
    try:
        if path.suffix == ".json":
            json.loads(path.read_bytes().decode("utf-8"))
        elif path.suffix == ".safetensors":
            with safe_open(path, framework="pt") as f:
                for name in f.keys():  # noqa: SIM118  (a safe_open handle)
                    f.get_slice(name)
        elif path.suffix in (".bin", ".pt", ".pth"):
            zipped = zipfile.is_zipfile(path)  # mmap needs the zip format
            torch.load(path, map_location="cpu", weights_only=True, mmap=zipped)
        else:
            path.stat()  # a broken link into the cache's blobs
    except Exception as error:  # any reader's error means the file is damaged
        return f"{type(error).__name__}: {error}"
    return None


def model_file_error(model_name: str, snapshot: Path) -> ModelFileError | None:
    """A ``ModelFileError`` naming every damaged file of ``snapshot``, or None."""
    damaged = [
        f"{path} ({problem})"
        for path in sorted(snapshot.rglob("*"))
        if not path.is_dir() and (problem := damaged_file(path)) is not None
    ]
    if not damaged:
        return None
    return ModelFileError(
        f"model {model_name!r} cannot be loaded: truncated or corrupt in the hub "
        "cache: " + "; ".join(damaged) + "; delete it and download the model again"
    )


def load_hooked_model(
    model_name: str, device: str = "cpu", dtype: torch.dtype = torch.float32
) -> HookedSAETransformer:
    """A ``HookedSAETransformer`` of ``model_name`` from the local hub cache, in ``dtype``."""
    try:
        local = Path(snapshot_download(model_name, allow_patterns=["*.json"]))
    except OSError as error:
        raise model_not_found(model_name, error) from error
    try:
        return _build_hooked_model(model_name, local, device, dtype)
    except Exception as error:
        damaged = model_file_error(model_name, local)
        if damaged is not None:
            raise damaged from error
        weights = [*local.glob("*.safetensors"), *local.glob("*.bin")]
        if isinstance(error, OSError) and not weights:  # only the json is cached
            raise model_not_found(model_name, error) from error
        raise


def _build_hooked_model(
    model_name: str, local: Path, device: str, dtype: torch.dtype
) -> HookedSAETransformer:
    cfg_dict = convert_hf_model_config(str(local))
    cfg_dict.update(
        model_name=model_name.split("/")[-1],
        original_architecture=cfg_dict.get("original_architecture"),
        device=device,
        dtype=dtype,
        n_devices=1,
        default_prepend_bos=True,
    )
    cfg = HookedTransformerConfig(**cfg_dict)
    with quiet(loading_bars=True):
        hf_model = AutoModelForCausalLM.from_pretrained(model_name, dtype=dtype)
    tokenizer = AutoTokenizer.from_pretrained(model_name)
    state_dict = get_pretrained_state_dict(str(local), cfg, hf_model, dtype=dtype)
    model = HookedSAETransformer(cfg, tokenizer=tokenizer, move_to_device=False)
    model.load_and_process_state_dict(
        state_dict,
        fold_ln=False,
        center_writing_weights=False,
        center_unembed=False,
        fold_value_biases=False,
        refactor_factored_attn_matrices=False,
    )
    return model.to(device, print_details=False).eval()


#: Hugging Face (Llama-style) module names -> TransformerLens hook names
HF_TO_TRANSFORMER_LENS = (
    (re.compile(r"^model\.layers\.(\d+)\.mlp$"), "blocks.{}.hook_mlp_out"),
    (re.compile(r"^model\.layers\.(\d+)\.self_attn$"), "blocks.{}.hook_attn_out"),
    (re.compile(r"^model\.layers\.(\d+)$"), "blocks.{}.hook_resid_post"),
)


def transformer_lens_hook(hook_name: str) -> str | None:
    """The TransformerLens hook that reads what the Hugging Face module
    ``hook_name`` outputs (``model.layers.1.mlp`` -> ``blocks.1.hook_mlp_out``),
    or None when there is no such mapping."""
    for pattern, template in HF_TO_TRANSFORMER_LENS:
        match = pattern.match(hook_name)
        if match:
            return template.format(match.group(1))
    return None
