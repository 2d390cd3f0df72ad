"""Checks that run before training, so a bad config fails fast and writes nothing.

SAELens only notices an SAE ``d_in`` that does not fit the hook deep inside the
activation store (a broadcasting error while the first batch is copied), so we
probe the hook once with a few tokens and compare. ``check_run_config``
refuses runner configs that would train nothing (``training_tokens`` under one
batch), run past the model's context, or read an empty local dataset.
"""

import difflib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from sae_lens.util import extract_stop_at_layer_from_tlens_hook_name
from transformer_lens.hook_points import HookedRootModule

from sae_lens_signaware.saes.validation import (
    check_dtype_and_devices,
    check_field_types,
)


class HookShapeError(ValueError):
    """The SAE's ``d_in`` does not match the activations at its hook (or the hook is missing)."""


@torch.no_grad()
def hook_width(
    model: HookedRootModule,
    hook_name: str,
    hook_head_index: int | None = None,
    model_kwargs: Mapping[str, Any] | None = None,
) -> int:
    """Width of one token's activation at ``hook_name``, as SAELens's store flattens it."""
    if hook_name not in model.hook_dict:
        close = difflib.get_close_matches(hook_name, list(model.hook_dict), n=3)
        known = ", ".join(close or sorted(model.hook_dict)[:8])
        label = "did you mean" if close else "some hooks"
        raise HookShapeError(
            f"hook_name {hook_name!r} is not a hook of the model ({label}: {known}, ...)"
        )
    tokenizer = getattr(model, "tokenizer", None)
    token = getattr(tokenizer, "bos_token_id", None) or 0
    tokens = torch.full((1, 4), token, dtype=torch.long)
    device = _input_device(model)
    _, cache = model.run_with_cache(
        tokens.to(device),
        names_filter=[hook_name],
        stop_at_layer=extract_stop_at_layer_from_tlens_hook_name(hook_name),
        prepend_bos=False,
        **(model_kwargs or {}),
    )
    acts = cache[hook_name]
    if hook_head_index is not None:
        acts = acts[:, :, hook_head_index]
    return int(acts[0, 0].numel())


def check_d_in(
    model: HookedRootModule,
    hook_name: str,
    d_in: int,
    hook_head_index: int | None = None,
    model_kwargs: Mapping[str, Any] | None = None,
) -> None:
    """Raise ``HookShapeError`` naming ``d_in`` if it differs from the hook's width."""
    width = hook_width(model, hook_name, hook_head_index, model_kwargs)
    if width != d_in:
        raise HookShapeError(
            f"SAE d_in={d_in} does not match the activations at hook {hook_name!r}, "
            f"which have width {width}: set d_in={width} (or pick another hook)."
        )


def _input_device(model: HookedRootModule) -> torch.device:
    embedding = getattr(model, "W_E", None)
    if isinstance(embedding, torch.Tensor):
        return embedding.device
    return next(model.parameters()).device


#: the runner-config fields that name a device
RUNNER_DEVICES = ("device", "llm_device", "act_store_device")


class RunConfigError(ValueError):
    """A runner-config value that cannot work (names the field)."""


def max_context(model: HookedRootModule) -> int | None:
    """The longest context the model takes, if it says (TransformerLens ``n_ctx``,
    Hugging Face ``max_position_embeddings``)."""
    n_ctx = getattr(getattr(model, "cfg", None), "n_ctx", None)
    if isinstance(n_ctx, int):
        return n_ctx
    hf_config = getattr(getattr(model, "model", None), "config", None)
    n_pos = getattr(hf_config, "max_position_embeddings", None)
    return n_pos if isinstance(n_pos, int) else None


def check_run_config(cfg: Any, model: HookedRootModule | None = None) -> None:
    """Raise ``RunConfigError`` naming the field for a runner config that would
    train nothing, index past the model's context, or read an empty dataset;
    check the type of every field (``saes/validation.py``, bool words parsed)."""
    check_field_types(cfg)
    check_dtype_and_devices(cfg, RUNNER_DEVICES)
    batch = cfg.train_batch_size_tokens
    if not (isinstance(batch, int) and not isinstance(batch, bool) and batch > 0):
        raise RunConfigError(
            f"train_batch_size_tokens must be an int > 0, got {batch!r}"
        )
    tokens = cfg.training_tokens
    if not (isinstance(tokens, int) and not isinstance(tokens, bool)):
        raise RunConfigError(f"training_tokens must be an int, got {tokens!r}")
    if tokens < batch:
        raise RunConfigError(
            f"training_tokens={tokens} is less than one batch "
            f"(train_batch_size_tokens={batch}): nothing would be trained"
        )
    context = cfg.context_size
    if not (isinstance(context, int) and not isinstance(context, bool) and context > 0):
        raise RunConfigError(f"context_size must be an int > 0, got {context!r}")
    limit = None if model is None else max_context(model)
    if limit is not None and context > limit:
        raise RunConfigError(
            f"context_size={context} is longer than the model's context "
            f"({cfg.model_name}: {limit} tokens)"
        )
    check_dataset(cfg.dataset_path)


DATA_SUFFIXES = (".jsonl", ".json", ".parquet", ".arrow", ".csv", ".txt")
TEXT_SUFFIXES = (".jsonl", ".json", ".csv", ".txt")


def looks_local(dataset_path: str) -> bool:
    """A path, not a Hub dataset id: absolute, ``~``, ``./``/``../``, or existing."""
    return (
        Path(dataset_path).exists()
        or dataset_path.startswith(("/", "~", "./", "../"))
        or Path(dataset_path).is_absolute()
    )


def check_dataset(dataset_path: str) -> None:
    """A local dataset (folder or file) must exist and hold some data, its text
    files UTF-8 with at least one non-blank line; Hub ids are not checked."""
    if not looks_local(dataset_path):
        return
    path = Path(dataset_path).expanduser()
    if not path.exists():
        raise RunConfigError(
            f"dataset_path {dataset_path!r} does not exist (a local folder or file, "
            "or a Hugging Face dataset id such as 'org/name')"
        )
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    data = [p for p in files if p.suffix in DATA_SUFFIXES]
    if not data or all(p.stat().st_size == 0 for p in data):
        raise RunConfigError(
            f"dataset_path {dataset_path!r} holds no data "
            f"(no non-empty {'/'.join(DATA_SUFFIXES)} file)"
        )
    for file in data:
        if file.suffix in TEXT_SUFFIXES:
            check_text_file(file)


def check_text_file(file: Path) -> None:
    """``file`` is UTF-8 with at least one non-blank line (a RunConfigError naming
    it, and the line of the first undecodable bytes, otherwise)."""
    blank = True
    with open(file, "rb") as f:
        for number, line in enumerate(f, start=1):
            try:
                text = line.decode("utf-8")
            except UnicodeDecodeError as error:
                raise RunConfigError(
                    f"{file} is not UTF-8 text (line {number}: {error.reason} at "
                    f"byte {error.start})"
                ) from None
            blank = blank and not text.strip()
    if blank:
        raise RunConfigError(f"{file} holds only blank lines: no text to train on")
