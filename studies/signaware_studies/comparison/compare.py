"""Compare architectures on a model's activations: EV, dead latents and CE loss score against L0.

    sae-signaware compare [--quick] [--out DIR] [--model NAME] [--layer L]
        [--cells resid,mlp_out,attn_out] [--targets 4 8 16 32] [--seeds 0 1 2]
        [--archs sa_gsae,gated,...] [--steps N] [--train-tokens N] [--lr LR]

Every architecture of ``baselines.ARCHS`` (or ``--archs``) is trained at each
target L0 and seed on each cell (a hook of layer ``L`` of the model), with
SAELens's trainer on activations cached once per cell. Metrics are on held-out
validation tokens (``evaluation.reconstruction_metrics``: a latent is dead when
it fires on none of them) and the CE loss score on held-out text
(``evaluation.ce_loss_score``).

Each finished run is a line of ``runs.jsonl`` in the out dir; a rerun skips the
runs found there, so a sweep can be stopped and resumed. ``summary.json``,
``results.md`` and ``pareto_{cell}.png`` are rewritten from all rows at the end.
"""

import argparse
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import torch
from sae_lens.saes.sae import TrainStepOutput
from transformer_lens import HookedTransformer

from sae_lens_signaware.activations import (
    cached_activations,
    read_texts,
    token_windows,
)
from sae_lens_signaware.assets import DEFAULT_MODEL, use_offline_hub
from sae_lens_signaware.comparison.baselines import ARCHS, Arch, settled_coefficient
from sae_lens_signaware.comparison.report import format_results, plot_cells
from sae_lens_signaware.comparison.summary import summarize
from sae_lens_signaware.evaluation import ce_loss_score, reconstruction_metrics
from sae_lens_signaware.outputs import check_output_path, write_atomic
from sae_lens_signaware.training import TrainSettings, train_on_cached

#: cell name -> hook of layer ``{layer}`` (TransformerLens names)
CELLS = {
    "resid": "blocks.{layer}.hook_resid_post",
    "mlp_out": "blocks.{layer}.hook_mlp_out",
    "attn_out": "blocks.{layer}.hook_attn_out",
}
# Settings that change what a run measures: rows in one out dir must agree on them.
FINGERPRINT = (
    "n_steps",
    "batch_size",
    "train_tokens",
    "val_tokens",
    "ce_tokens",
    "b_dec_init",
)
NORMALIZE = "expected_average_only_in"


@dataclass
class CompareSettings:
    model: str = DEFAULT_MODEL
    layer: int = 1
    cells: list[str] = field(default_factory=lambda: list(CELLS))
    targets: list[float] = field(default_factory=lambda: [4.0, 8.0, 16.0, 32.0])
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    archs: list[str] = field(default_factory=lambda: list(ARCHS))
    n_steps: int = 1000  # x 1024 tokens: one pass over the 1M cached tokens
    batch_size: int = 1024
    lr: float = 3e-4
    train_tokens: int = 1_000_000
    val_tokens: int = 100_000
    ce_tokens: int = 32_768
    width_multiplier: int = 4  # H = width_multiplier * d_model
    b_dec_init: str = (
        "mean"  # see training.trainer: every architecture starts at the mean
    )

    def hook(self, cell: str) -> str:
        return CELLS[cell].format(layer=self.layer)


QUICK = {
    "cells": ["mlp_out"],
    "targets": [8.0, 16.0],
    "seeds": [0],
    "n_steps": 200,
    "batch_size": 512,
    "train_tokens": 100_000,
    "val_tokens": 20_000,
    "ce_tokens": 8_192,
}


def read_rows(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def run_key(row: dict[str, Any]) -> tuple[str, str, float, int]:
    return (row["cell"], row["arch"], float(row["target"]), int(row["seed"]))


def _check_fingerprint(
    rows: list[dict[str, Any]], settings: CompareSettings, path: Path
) -> None:
    for row in rows:
        # rows written before lr was recorded lack it
        keys = FINGERPRINT + (("lr",) if "lr" in row else ())
        mine = {k: getattr(settings, k) for k in keys}
        theirs = {k: row.get(k) for k in keys}
        if theirs != mine:
            raise ValueError(
                f"{path} holds runs with settings {theirs}, not {mine}; "
                "use another --out (or the same settings) to keep results comparable"
            )


def train_one(
    cell: str,
    arch: str | Arch,
    target: float,
    seed: int,
    train: torch.Tensor,
    val: torch.Tensor,
    ce_tokens: torch.Tensor,
    model: HookedTransformer,
    settings: CompareSettings,
    settled_from: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Train one (cell, arch, target, seed) and return its row.

    ``settled_from``: a controlled run whose final coefficient this one keeps fixed.
    """
    if isinstance(arch, str):
        arch = ARCHS[arch]
    d_in = train.shape[1]
    d_sae = arch.width * settings.width_multiplier * d_in
    cfg = arch.make(d_in, d_sae, target, normalize_activations=NORMALIZE)
    if settled_from is not None:
        name, value = settled_coefficient(settled_from, d_in)
        cfg = replace(cfg, **{f"{name}_coefficient": value})
    l0_target = arch.l0_target(target) if settled_from is None else None
    scales: list[float] = []

    def record_scale(output: TrainStepOutput) -> None:
        if "sparsity_scale" in output.metrics:
            scales.append(float(output.metrics["sparsity_scale"]))

    train_settings = TrainSettings(
        n_steps=settings.n_steps,
        batch_size=settings.batch_size,
        lr=settings.lr,
        seed=seed,
        b_dec_init=settings.b_dec_init,  # type: ignore[arg-type]
    )
    sae, seconds = train_on_cached(
        cfg, train, train_settings, on_step=record_scale, l0_target=l0_target
    )
    hook = settings.hook(cell)
    row: dict[str, Any] = {
        "cell": cell,
        "hook": hook,
        "arch": arch.name,
        "target": target,
        "seed": seed,
        "d_sae": d_sae,
        **{k: getattr(settings, k) for k in FINGERPRINT},
        "lr": settings.lr,
        **reconstruction_metrics(sae, val),
        **ce_loss_score(model, sae, ce_tokens, hook),
        "train_seconds": seconds,
    }
    if settled_from is not None:
        row["fixed_coefficient"] = {name: value}
    if l0_target is not None:
        row["controlled_coefficient"] = l0_target.coefficient
        row["final_coefficient_scale"] = scales[-1]
    return row


def load_cell(
    model: HookedTransformer,
    cell: str,
    settings: CompareSettings,
    cache_dir: Path | None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(train, val)`` activations of ``cell`` (cached) and the CE-eval token windows."""
    hook = settings.hook(cell)
    train = cached_activations(
        model, hook, "train", settings.train_tokens, cache_dir=cache_dir
    )
    val = cached_activations(
        model, hook, "validation", settings.val_tokens, cache_dir=cache_dir
    )
    ce_tokens = token_windows(model, read_texts("validation"), 128, settings.ce_tokens)
    return train, val, ce_tokens


def run_comparison(
    out: Path,
    settings: CompareSettings,
    cache_dir: Path | None = Path(".cache/activations"),
    model: HookedTransformer | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run what ``out/runs.jsonl`` lacks, then write the summary, tables and plots.

    ``progress`` gets one line per finished (or skipped) run."""
    report = progress or (lambda _line: None)
    check_output_path(out, overwrite=True)  # resumable: an existing out is kept
    out.mkdir(parents=True, exist_ok=True)
    runs_path = out / "runs.jsonl"
    rows = read_rows(runs_path)
    _check_fingerprint(rows, settings, runs_path)
    done = {run_key(r) for r in rows}
    start = time.perf_counter()
    for cell in settings.cells:
        todo = [
            (arch, float(target), seed)
            for target in settings.targets
            for seed in settings.seeds
            for arch in settings.archs
            if (cell, arch, float(target), seed) not in done
        ]
        if not todo:
            continue
        if model is None:
            use_offline_hub()
            from sae_lens_signaware.models import load_hooked_model

            model = load_hooked_model(settings.model)
        train, val, ce_tokens = load_cell(model, cell, settings, cache_dir)
        for arch, target, seed in todo:
            source = ARCHS[arch].settled_from
            settled = None
            if source is not None:
                # re-read: another process may have finished the controlled run
                found = [
                    r
                    for r in read_rows(runs_path)
                    if run_key(r) == (cell, source, target, seed)
                ]
                if not found:
                    report(
                        f"[compare] {cell} {arch} T={target:g} seed={seed}: skipped, "
                        f"no finished {source} run to take its coefficient from"
                    )
                    continue
                settled = found[0]
            row = train_one(
                cell,
                arch,
                target,
                seed,
                train,
                val,
                ce_tokens,
                model,
                settings,
                settled,
            )
            # one whole line per finished run (processes share the file); a NaN
            # run stops in training (training/guards.py) and writes no row
            with open(runs_path, "a") as f:
                f.write(json.dumps(row, allow_nan=False) + "\n")
            rows.append(row)
            report(
                f"[compare] {cell} {arch} T={target:g} seed={seed}: L0 {row['l0']:.1f} "
                f"EV {row['explained_variance']:.3f} dead {row['dead_fraction']:.3f} "
                f"CE rec {row['ce_loss_score']:.3f} ({row['train_seconds']:.0f}s)"
            )
    summary = summarize(rows)
    summary["settings"] = asdict(settings)
    summary["model"] = settings.model
    summary["cells_hooks"] = {c: settings.hook(c) for c in summary["cells"]}
    summary["seconds_this_call"] = time.perf_counter() - start
    header = (
        f"# Architecture comparison ({settings.model}, layer {settings.layer})\n\n"
        f"{settings.n_steps} steps of {settings.batch_size} tokens at lr {settings.lr:g} "
        f"(from {settings.train_tokens} cached train tokens); metrics on the first "
        f"{settings.val_tokens} validation tokens, in whole 128-token windows (dead: "
        f"fires on none of them), CE loss score (recovered) on the first "
        f"{settings.ce_tokens} validation tokens. H = "
        f"{settings.width_multiplier} x d_model; b_dec starts at the training mean "
        "for every architecture. Mean ± std over seeds.\n"
    )
    results = format_results(summary, header)
    write_atomic(out / "summary.json", json.dumps(summary, indent=1))
    write_atomic(out / "results.md", results)
    summary["plots"] = [str(p) for p in plot_cells(summary, out)]
    return summary


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--quick",
        action="store_true",
        help="one cell, one seed, targets 8 16, 200 short steps",
    )
    parser.add_argument("--out", type=Path, default=Path("output/compare"))
    parser.add_argument(
        "--model", default=None, help=f"model (default {DEFAULT_MODEL})"
    )
    parser.add_argument(
        "--layer", type=int, default=None, help="layer of the cells (1)"
    )
    parser.add_argument(
        "--cells", type=str, default=None, help="comma-separated: " + ",".join(CELLS)
    )
    parser.add_argument("--targets", type=float, nargs="+", default=None)
    parser.add_argument("--seeds", type=int, nargs="+", default=None)
    parser.add_argument(
        "--archs", type=str, default=None, help="comma-separated: " + ",".join(ARCHS)
    )
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--train-tokens", type=int, default=None)
    parser.add_argument("--lr", type=float, default=None, help="3e-4 unless given")
    parser.add_argument(
        "--b-dec-init",
        choices=["mean", "zeros"],
        default=None,
        help="b_dec at the start: the training mean (default) or SAELens's zeros",
    )
    parser.add_argument("--cache-dir", type=Path, default=Path(".cache/activations"))
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads (1 is fastest on small CPUs)",
    )


def settings_from_args(args: argparse.Namespace) -> CompareSettings:
    values: dict[str, Any] = dict(QUICK) if args.quick else {}
    if args.cells:
        values["cells"] = args.cells.split(",")
    if args.archs:
        values["archs"] = args.archs.split(",")
    for name, key in (
        ("targets", "targets"),
        ("seeds", "seeds"),
        ("steps", "n_steps"),
        ("train_tokens", "train_tokens"),
        ("b_dec_init", "b_dec_init"),
        ("lr", "lr"),
        ("model", "model"),
        ("layer", "layer"),
    ):
        if getattr(args, name) is not None:
            values[key] = getattr(args, name)
    if "targets" in values:
        values["targets"] = [float(t) for t in values["targets"]]
    unknown = [c for c in values.get("cells", []) if c not in CELLS]
    unknown += [a for a in values.get("archs", []) if a not in ARCHS]
    if unknown:
        raise SystemExit(f"unknown cell or arch: {', '.join(unknown)}")
    known = {f.name for f in fields(CompareSettings)}
    return CompareSettings(**{k: v for k, v in values.items() if k in known})


def run(args: argparse.Namespace) -> dict[str, Any]:
    torch.set_num_threads(args.threads)
    summary = run_comparison(
        args.out,
        settings_from_args(args),
        args.cache_dir,
        progress=lambda line: print(line, flush=True),
    )
    print((args.out / "results.md").read_text())
    print(
        f"wrote {args.out}/runs.jsonl, summary.json, results.md, "
        + ", ".join(Path(p).name for p in summary["plots"])
    )
    return summary
