"""Activations of a model on a folder of JSON-lines text, cached once and reused across runs.

A text folder holds ``{split}.jsonl`` files (``train``, ``validation``), one JSON
object with a ``text`` field per line, as SAELens's ``dataset_path`` takes it.
"""

import json
from collections.abc import Iterator
from pathlib import Path

import torch
from transformer_lens import HookedTransformer


class TextFileError(ValueError):
    """A text file that cannot be read as JSON lines with a ``text`` field."""


def bos_token_id(model: HookedTransformer) -> int | None:
    """The model's BOS token id, if its tokenizer has one."""
    token = getattr(model.tokenizer, "bos_token_id", None)
    return token if isinstance(token, int) else None


def read_texts(split: str, dataset_dir: str | Path) -> list[str]:
    """The ``text`` field of each line of ``dataset_dir/{split}.jsonl`` (blank lines
    skipped); errors name the file and the line."""
    path = Path(dataset_dir) / f"{split}.jsonl"
    if not path.is_file():
        raise FileNotFoundError(f"no {split} text at {path}")
    texts: list[str] = []
    with open(path, encoding="utf-8", errors="strict") as f:
        try:
            for number, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                    text = record["text"]
                except (json.JSONDecodeError, KeyError, TypeError) as error:
                    raise TextFileError(
                        f"{path}, line {number}: not a JSON object with a 'text' "
                        f"field ({error})"
                    ) from None
                if isinstance(text, str) and text.strip():
                    texts.append(text)
        except UnicodeDecodeError as error:
            raise TextFileError(f"{path} is not UTF-8 text ({error})") from None
    if not texts:
        raise TextFileError(f"{path} holds no text (every line is blank or empty)")
    return texts


def token_windows(
    model: HookedTransformer, texts: list[str], context_size: int, n_tokens: int
) -> torch.Tensor:
    """Stories tokenized with BOS, concatenated, cut into ``context_size`` windows."""
    assert model.tokenizer is not None
    pieces: list[int] = []
    for text in texts:
        pieces.extend(model.to_tokens(text, prepend_bos=True)[0].tolist())
        if len(pieces) >= n_tokens:
            break
    n_windows = min(len(pieces), n_tokens) // context_size
    if n_windows == 0:
        raise ValueError(f"not enough text for one window of {context_size} tokens")
    return torch.tensor(pieces[: n_windows * context_size]).view(
        n_windows, context_size
    )


@torch.no_grad()
def collect_activations(
    model: HookedTransformer,
    tokens: torch.Tensor,
    hook_name: str,
    batch_size: int = 32,
) -> torch.Tensor:
    """``(n_windows * context_size, d)`` activations at ``hook_name``, in float32."""
    layer = int(hook_name.split(".")[1]) if hook_name.startswith("blocks.") else None
    stop = None if layer is None else layer + 1
    out = []
    device = model.cfg.device
    for start in range(0, tokens.shape[0], batch_size):
        _, cache = model.run_with_cache(
            tokens[start : start + batch_size].to(device),
            names_filter=hook_name,
            stop_at_layer=stop,
        )
        out.append(cache[hook_name].float().flatten(0, -2).cpu())
    return torch.cat(out)


def cache_file_name(
    model_name: str, hook_name: str, split: str, n_tokens: int, context_size: int
) -> str:
    """The file ``cached_activations`` keeps a split's activations in."""
    return f"{model_name}_{hook_name}_{split}_{n_tokens}_{context_size}.pt"


def cached_activations(
    model: HookedTransformer,
    hook_name: str,
    split: str,
    n_tokens: int,
    dataset_dir: str | Path,
    context_size: int = 128,
    cache_dir: Path | None = None,
    tokens: torch.Tensor | None = None,
) -> torch.Tensor:
    """Activations for ``split`` of ``dataset_dir``, read from ``cache_dir`` if a
    matching file exists; ``tokens``: the split's windows, already tokenized."""
    name = cache_file_name(
        model.cfg.model_name, hook_name, split, n_tokens, context_size
    )
    path = cache_dir / name if cache_dir is not None else None
    if path is not None and path.exists():
        return torch.load(path)
    if tokens is None:
        texts = read_texts(split, dataset_dir)
        tokens = token_windows(model, texts, context_size, n_tokens)
    acts = collect_activations(model, tokens, hook_name)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        torch.save(acts, tmp)
        tmp.replace(path)
    return acts


def shuffled_batches(
    acts: torch.Tensor, batch_size: int, seed: int = 0
) -> Iterator[torch.Tensor]:
    """An endless stream of shuffled batches (a SAELens ``DataProvider``)."""
    generator = torch.Generator().manual_seed(seed)
    while True:
        order = torch.randperm(acts.shape[0], generator=generator)
        for start in range(0, acts.shape[0] - batch_size + 1, batch_size):
            yield acts[order[start : start + batch_size]]
