"""Held-out evaluation on text: SAELens's ``run_evals`` plus the sign census.

``run_evals`` gives L0, explained variance, CE loss score (recovered) and KL;
the census (``analysis.census``, the package's one census) is taken over the
same validation tokens.
"""

import math
from pathlib import Path
from typing import Any

import torch
from datasets import IterableDataset, load_dataset
from sae_lens import SAE, ActivationsStore
from sae_lens.evals import EvalConfig, run_evals
from sae_lens.training.activation_scaler import ActivationScaler
from sae_lens.util import get_special_token_ids
from tqdm.auto import tqdm
from transformer_lens.hook_points import HookedRootModule

from sae_lens_signaware.analysis.census import Census, CensusAccumulator
from sae_lens_signaware.checks import check_text_file
from sae_lens_signaware.upstream_messages import UNTOKENIZED, quiet


def text_dataset(path: str | Path, split: str = "validation") -> IterableDataset:
    """Stream ``{split}.jsonl`` from a folder (or a single ``.jsonl`` file).

    SAELens's ``ActivationsStore`` loads a path with ``split="train"`` only, so
    other splits are passed in as a dataset, named through ``data_files``.
    """
    path = Path(path)
    file = path / f"{split}.jsonl" if path.is_dir() else path
    if not file.is_file():
        raise FileNotFoundError(f"no {split} text at {file}")
    check_text_file(file)  # UTF-8, not blank: else SAELens's store fails unnamed
    dataset = load_dataset(
        "json", data_files={split: str(file)}, split=split, streaming=True
    )
    assert isinstance(dataset, IterableDataset)
    return dataset


#: tokens one evaluation batch reads per pass (16 prompts of 128 tokens), and
#: the passes ``evaluate`` makes over ``n_batches`` (run_evals' two, the census)
BATCH_TOKENS = 16 * 128
PASSES = 2


class NonFiniteMetricError(FloatingPointError):
    """An evaluation metric came out NaN or inf (names the metrics)."""


def check_eval_batches(n_batches: int, dataset_path: str | Path, split: str) -> None:
    """Refuse ``n_batches`` that is not an int > 0 or that needs more text than
    ``{split}.jsonl`` holds (a token takes at least one byte of it)."""
    if not (isinstance(n_batches, int) and not isinstance(n_batches, bool)):
        raise ValueError(f"eval_batches must be an int > 0, got {n_batches!r}")
    if n_batches <= 0:
        raise ValueError(f"eval_batches must be an int > 0, got {n_batches}")
    path = Path(dataset_path)
    file = path / f"{split}.jsonl" if path.is_dir() else path
    if not file.is_file():
        raise FileNotFoundError(f"no {split} text at {file}")
    check_text_file(file)
    most = file.stat().st_size // (PASSES * BATCH_TOKENS)
    if n_batches > most:
        raise ValueError(
            f"eval_batches={n_batches} needs about {n_batches * PASSES * BATCH_TOKENS:,} "
            f"tokens of text; {file} ({file.stat().st_size:,} bytes) holds at most "
            f"{most} batches"
        )


def eval_store(
    model: HookedRootModule,
    sae: SAE[Any],
    dataset: IterableDataset,
    batch_size_prompts: int = 16,
    context_size: int | None = None,
) -> ActivationsStore:
    """An ``ActivationsStore`` over ``dataset`` with the SAE's hook and context size."""
    return ActivationsStore.from_sae(
        model,
        sae,
        dataset=dataset,
        context_size=context_size,
        streaming=True,
        store_batch_size_prompts=batch_size_prompts,
        device=str(sae.device),
    )


@torch.no_grad()
def sign_census(
    sae: SAE[Any],
    store: ActivationsStore,
    n_batches: int,
    batch_size_prompts: int,
    ignore_tokens: list[int] | None = None,
    progress: bool = False,
) -> Census:
    """The census of ``sae`` over ``n_batches`` batches of ``store``'s tokens
    (special tokens left out, as ``run_evals`` does)."""
    acc = CensusAccumulator(sae.W_dec.detach().pow(2).sum(-1))
    ignore = torch.tensor(ignore_tokens or [], dtype=torch.long)
    batches = range(n_batches)
    for _ in tqdm(batches, desc="Sign census batches", disable=not progress):
        tokens = store.get_batch_tokens(batch_size_prompts)
        acts = store.get_activations(tokens).reshape(-1, sae.cfg.d_in)
        keep = ~torch.isin(tokens.reshape(-1).cpu(), ignore)
        acc.update(sae.encode(acts[keep.to(acts.device)].to(sae.device)))
    return acc.result()


def evaluate(
    sae: SAE[Any],
    model: HookedRootModule,
    dataset_path: str | Path,
    split: str = "validation",
    n_batches: int = 8,
    batch_size_prompts: int = 16,
    progress: bool = True,
) -> dict[str, float]:
    """L0, explained variance, CE loss recovered, KL (``run_evals``) and the sign
    census, on the first ``2 * n_batches * batch_size_prompts`` contexts of ``split``.

    ``run_evals`` reads ``n_batches`` batches for CE/KL and the next ``n_batches``
    for L0/variance; the census reads the same ``2 * n_batches`` from the start.
    """
    was_training = sae.training
    sae.eval()
    eval_config = EvalConfig(
        batch_size_prompts=batch_size_prompts,
        n_eval_reconstruction_batches=n_batches,
        n_eval_sparsity_variance_batches=n_batches,
        compute_kl=True,
        compute_ce_loss=True,
        compute_sparsity_metrics=True,
        compute_variance_metrics=True,
    )
    ignore = get_special_token_ids(model.tokenizer)  # type: ignore[arg-type]
    with quiet(UNTOKENIZED):  # a text split is raw text by design
        store = eval_store(
            model, sae, text_dataset(dataset_path, split), batch_size_prompts
        )
        metrics, _ = run_evals(
            sae=sae,
            activation_store=store,
            model=model,
            activation_scaler=ActivationScaler(),
            eval_config=eval_config,
            exclude_special_tokens=ignore,
            verbose=progress,
        )
        store = eval_store(
            model, sae, text_dataset(dataset_path, split), batch_size_prompts
        )
    census = sign_census(
        sae, store, 2 * n_batches, batch_size_prompts, ignore, progress=progress
    )
    sae.train(was_training)
    result = {
        "l0": metrics["sparsity"]["l0"],
        "explained_variance": metrics["reconstruction_quality"]["explained_variance"],
        "mse": metrics["reconstruction_quality"]["mse"],
        "ce_loss_score": metrics["model_performance_preservation"]["ce_loss_score"],
        "ce_loss_without_sae": metrics["model_performance_preservation"][
            "ce_loss_without_sae"
        ],
        "ce_loss_with_sae": metrics["model_performance_preservation"][
            "ce_loss_with_sae"
        ],
        "ce_loss_with_ablation": metrics["model_performance_preservation"][
            "ce_loss_with_ablation"
        ],
        "kl_div_score": metrics["model_behavior_preservation"]["kl_div_score"],
        "kl_div_with_sae": metrics["model_behavior_preservation"]["kl_div_with_sae"],
        **census_metrics(census),
    }
    bad = sorted(k for k, v in result.items() if not math.isfinite(v))
    if bad:
        raise NonFiniteMetricError(
            f"evaluation on {split} gave non-finite {', '.join(bad)}: the "
            f"activations at {sae.cfg.metadata.hook_name} or the SAE's outputs hold "
            "NaN or inf"
        )
    return result


def census_metrics(census: Census) -> dict[str, float]:
    """``Census.summary`` without its ``l0`` (``run_evals`` gives it) and with
    ``n_tokens`` named ``census_tokens``."""
    summary = census.summary()
    summary.pop("l0")
    summary["census_tokens"] = summary.pop("n_tokens")
    return summary
