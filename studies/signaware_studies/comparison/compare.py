"""Compare architectures on a model's activations: EV, dead latents and CE loss score against L0.

    sae-signaware compare [--quick] [--output DIR] [--model NAME] [--layer L]
        [--cells resid,mlp_out,attn_out] [--targets 4 8 16 32] [--seeds 0 1 2]
        [--archs sa_gsae,gated,...] [--steps N] [--training-tokens N] [--lr LR]

Every architecture of ``baselines.ARCHS`` (or ``--archs``) is trained at each
target L0 and seed on each cell (a hook of layer ``L`` of the model), with
SAELens's trainer on activations cached once per cell. Metrics are on held-out
validation tokens (``evaluation.reconstruction_metrics``: a latent is dead when
it fires on none of them) and the CE loss score on held-out text
(``evaluation.ce_loss_score``).

The command's flags are parsed in ``signaware_studies.commands.compare``.

Each finished run is a line of ``runs.jsonl`` in the out dir; a rerun skips the
runs found there, so a sweep can be stopped and resumed. ``summary.json``,
``results.md`` and ``pareto_{cell}.png`` are rewritten from all rows at the end.
"""

import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, get_args

import torch
from sae_lens.saes.sae import TrainStepOutput
from transformer_lens import HookedTransformer

from sae_lens_signaware.activations import (
    cached_activations,
    read_texts,
    token_windows,
)
from sae_lens_signaware.evaluation import ce_loss_score, reconstruction_metrics
from sae_lens_signaware.outputs import check_output_path, write_atomic
from sae_lens_signaware.training import TrainSettings, train_on_cached
from sae_lens_signaware.training.trainer import BDecInit
from sae_lens_signaware_cli.assets import (
    DEFAULT_MODEL,
    tinystories_dir,
    use_offline_hub,
)
from signaware_studies.baselines import ARCHS, Arch, Normalize, settled_coefficient
from signaware_studies.comparison.report import format_results, plot_cells
from signaware_studies.comparison.summary import summarize
from signaware_studies.names import CELLS

# Settings that change what a run measures: rows in one out dir must agree on them.
FINGERPRINT = (
    "n_steps",
    "batch_size",
    "train_tokens",
    "val_tokens",
    "ce_tokens",
    "b_dec_init",
)
NORMALIZE: Normalize = "expected_average_only_in"


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
    #: see training.trainer: every architecture starts at the mean
    b_dec_init: BDecInit = "mean"

    dataset_path: str | None = None  # default: the offline TinyStories

    def __post_init__(self) -> None:
        """Refuse settings that would train nothing or repeat a run (one line each)."""
        for name, values, known in (
            ("cells", self.cells, list(CELLS)),
            ("archs", self.archs, list(ARCHS)),
        ):
            if not values:
                raise ValueError(f"compare: {name} is empty")
            unknown = [v for v in values if v not in known]
            if unknown:
                raise ValueError(
                    f"compare: unknown {name} {unknown} (known: {', '.join(known)})"
                )
        for name, values in (("targets", self.targets), ("seeds", self.seeds)):
            if not values:
                raise ValueError(f"compare: {name} is empty")
            if len(set(values)) != len(values):
                raise ValueError(
                    f"compare: {name} {list(values)} has repeats (each run would be "
                    "trained twice and counted as two)"
                )
        if any(not (math.isfinite(t) and t > 0) for t in self.targets):
            raise ValueError(f"compare: targets must be > 0, got {self.targets}")
        if any(s < 0 for s in self.seeds):
            raise ValueError(f"compare: seeds must be >= 0, got {self.seeds}")
        for name in ("n_steps", "batch_size", "train_tokens", "val_tokens"):
            value = getattr(self, name)
            if not (isinstance(value, int) and value > 0):
                raise ValueError(f"compare: {name} must be an int > 0, got {value!r}")
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"compare: lr must be a finite number > 0, got {self.lr}")
        if self.layer < 0:
            raise ValueError(f"compare: layer must be >= 0, got {self.layer}")
        if self.b_dec_init not in get_args(BDecInit):
            raise ValueError(
                f"compare: b_dec_init must be one of {get_args(BDecInit)}, "
                f"got {self.b_dec_init!r}"
            )

    def check_model(self, n_layers: int, d_model: int) -> None:
        """Refuse a layer the model lacks, or a target above the narrowest width."""
        if self.layer >= n_layers:
            raise ValueError(
                f"compare: layer {self.layer} is out of range ({self.model} has "
                f"{n_layers} layers: 0-{n_layers - 1})"
            )
        narrowest = min(ARCHS[a].width for a in self.archs)
        d_sae = int(narrowest * self.width_multiplier * d_model)
        too_big = [t for t in self.targets if t > d_sae]
        if too_big:
            raise ValueError(f"compare: targets {too_big} exceed d_sae={d_sae}")

    def hook(self, cell: str) -> str:
        return CELLS[cell].format(layer=self.layer)

    def dataset_dir(self) -> Path:
        return Path(self.dataset_path) if self.dataset_path else tinystories_dir()


def read_rows(path: Path) -> list[dict[str, Any]]:
    """The rows of a ``runs.jsonl``; a ValueError names the file and the bad line."""
    if not path.exists():
        return []
    rows = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise ValueError(f"{path}, line {number}: not JSON ({error})") from None
        if not isinstance(row, dict):
            raise ValueError(f"{path}, line {number}: not a JSON object")
        rows.append(row)
    return rows


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
                "use another --output (or the same settings) to keep results "
                "comparable"
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
    d_sae = arch.d_sae(settings.width_multiplier * d_in)
    cfg = arch.make(d_in, d_sae, target, normalize_activations=NORMALIZE)
    fixed: dict[str, float] | None = None
    if settled_from is not None:
        name, value = settled_coefficient(settled_from, d_in)
        fixed = {name: value}
        cfg = replace(cfg, **{f"{name}_coefficient": value})
    l0_target = arch.l0_target(target) if settled_from is None else None
    scales: list[float] = []

    def record_scale(output: TrainStepOutput) -> None:
        scale = output.metrics.get("sparsity_scale")
        if callable(scale):  # a metric SAELens computes only when logged
            scale = scale()
        if scale is not None:
            scales.append(float(scale))

    train_settings = TrainSettings(
        n_steps=settings.n_steps,
        batch_size=settings.batch_size,
        lr=settings.lr,
        seed=seed,
        b_dec_init=settings.b_dec_init,
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
    if fixed is not None:
        row["fixed_coefficient"] = fixed
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
    data = settings.dataset_dir()
    train = cached_activations(
        model, hook, "train", settings.train_tokens, data, cache_dir=cache_dir
    )
    val = cached_activations(
        model, hook, "validation", settings.val_tokens, data, cache_dir=cache_dir
    )
    texts = read_texts("validation", data)
    ce_tokens = token_windows(model, texts, 128, settings.ce_tokens)
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
    created = not out.exists()
    try:
        return _run_comparison(out, settings, cache_dir, model, report)
    finally:
        if created and out.is_dir() and not any(out.iterdir()):
            out.rmdir()  # a run that failed before its first row leaves nothing


def _run_comparison(
    out: Path,
    settings: CompareSettings,
    cache_dir: Path | None,
    model: HookedTransformer | None,
    report: Callable[[str], None],
) -> dict[str, Any]:
    if model is None:
        use_offline_hub()
        from sae_lens_signaware.models import load_hooked_model

        model = load_hooked_model(settings.model)
    settings.check_model(model.cfg.n_layers, model.cfg.d_model)
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
