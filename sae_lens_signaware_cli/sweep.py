"""``sae-signaware sweep``: an L0 sweep of SA-GSAEs from one pass of the model.

    sae-signaware sweep --targets 4 8 16 32 [--d-sae 512 1024] [--hooks H ...]
        [--training-tokens N] [--lr LR] [--output DIR] [--overwrite] [--sae F=V]

One SA-GSAE per (hook, width, ``target_l0``) trains on one activation stream
(``sae_lens_signaware.training.multi.train_many``: SAELens's
``MultiSAETrainingRunner`` with this package's guarantees). Each SAE is written
in SAELens format to ``<output>/<name>`` (``l0_8``; ``d1024-`` and ``<hook>-``
prefixes only where several widths or hooks are swept); its target is in
``cfg.json`` (``metadata.training_architecture_details.target_l0``) and its
training L0 in ``metadata.l0``.
"""

import argparse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sae_lens_signaware_cli.assets import DEFAULT_HOOK, DEFAULT_MODEL
from sae_lens_signaware_cli.flags import (
    add_flag,
    add_lr,
    add_output,
    add_sae_overrides,
    add_threads,
    add_training_tokens,
    positive_float,
    positive_int,
)
from sae_lens_signaware_cli.runs import TINYSTORIES_STREAM, load_model, start_run

if TYPE_CHECKING:
    from sae_lens import HookedSAETransformer
    from sae_lens.multi_sae_training_runner import MultiSAETrainingRunnerConfig
    from sae_lens.saes.sae import TrainingSAE

DESCRIPTION = __doc__
DEFAULT_OUTPUT = "output/sweep"
SWEEP_TOKENS = 200_000
SWEEP_LR = 3e-3


@dataclass(frozen=True)
class SweepEntry:
    """One SAE of a sweep: its name (and output subfolder), hook, width and L0 target."""

    name: str
    hook_name: str
    d_sae: int
    target_l0: float


def sweep_entries(
    targets: Sequence[float],
    d_saes: Sequence[int] = (512,),
    hook_names: Sequence[str] = (DEFAULT_HOOK,),
) -> list[SweepEntry]:
    """One entry per (hook, width, target); names like ``l0_8``, with ``d1024-``
    and ``{hook}-`` prefixes only where several widths or hooks are swept.
    Every list must be non-empty, without repeats; targets at most the width."""
    for field_name, values in (
        ("targets", targets),
        ("d_saes", d_saes),
        ("hook_names", hook_names),
    ):
        if not values:
            raise ValueError(f"sweep {field_name} is empty")
        if len(set(values)) != len(values):
            raise ValueError(f"sweep {field_name} has repeats: {list(values)}")
    too_big = [t for t in targets if t > min(d_saes)]
    if too_big:
        raise ValueError(
            f"sweep targets {too_big} exceed d_sae={min(d_saes)}: an L0 is at most "
            "the number of latents"
        )
    entries = []
    for hook in hook_names:
        for d_sae in d_saes:
            for target in targets:
                parts = [f"l0_{target:g}"]
                if len(d_saes) > 1:
                    parts.insert(0, f"d{d_sae}")
                if len(hook_names) > 1:
                    parts.insert(0, hook)
                entries.append(SweepEntry("-".join(parts), hook, d_sae, target))
    return entries


def sweep_config(
    entries: Sequence[SweepEntry],
    d_in: Mapping[str, int],
    tokens: int = SWEEP_TOKENS,
    lr: float = SWEEP_LR,
    output: str | Path | None = DEFAULT_OUTPUT,
    seed: int = 42,
    model_name: str = DEFAULT_MODEL,
    dataset_path: str | Path | None = None,
    **sae_kwargs: Any,
) -> "MultiSAETrainingRunnerConfig":
    """The runner config of a sweep, with the main job's stream settings (context
    128, batches of 1024 tokens, normalised inputs); ``d_in`` maps each hook to
    its width; ``sae_kwargs`` override ``SignAwareGatedTrainingSAEConfig`` fields."""
    from dataclasses import fields

    from sae_lens import LoggingConfig
    from sae_lens.multi_sae_training_runner import MultiSAETrainingRunnerConfig

    from sae_lens_signaware import SignAwareGatedTrainingSAEConfig
    from sae_lens_signaware_cli.assets import tinystories_dir

    known = {f.name for f in fields(SignAwareGatedTrainingSAEConfig)} - {"metadata"}
    for field_name in sae_kwargs:
        if field_name in ("d_in", "d_sae", "target_l0"):
            raise ValueError(
                f"sae field {field_name!r} is set per SAE by the sweep, not by sae_kwargs"
            )
        if field_name not in known:
            raise ValueError(
                f"{field_name!r} is not a field of SignAwareGatedTrainingSAEConfig"
            )
    saes: dict[str, SignAwareGatedTrainingSAEConfig] = {}
    for entry in entries:
        if entry.hook_name not in d_in:
            raise ValueError(f"d_in has no width for hook {entry.hook_name!r}")
        fields_: dict[str, Any] = {
            "normalize_activations": "expected_average_only_in",
            "threshold_init_l0": entry.target_l0,
            **sae_kwargs,
            "d_in": d_in[entry.hook_name],
            "d_sae": entry.d_sae,
            "target_l0": entry.target_l0,
        }
        saes[entry.name] = SignAwareGatedTrainingSAEConfig(**fields_)
    return MultiSAETrainingRunnerConfig(
        saes=saes,
        hook_names={entry.name: entry.hook_name for entry in entries},
        model_name=model_name,
        dataset_path=str(dataset_path or tinystories_dir()),
        training_tokens=tokens,
        lr=lr,
        seed=seed,
        logger=LoggingConfig(log_to_wandb=False),
        checkpoint_path=None,
        output_path=None if output is None else str(output),
        **TINYSTORIES_STREAM,
    )


def run_sweep(
    targets: Sequence[float],
    d_sae: int | Sequence[int] = 512,
    hook_names: Sequence[str] = (DEFAULT_HOOK,),
    tokens: int = SWEEP_TOKENS,
    lr: float = SWEEP_LR,
    output: str | Path = DEFAULT_OUTPUT,
    seed: int = 42,
    overwrite: bool = False,
    model: "HookedSAETransformer | None" = None,
    model_name: str = DEFAULT_MODEL,
    threads: int = 1,
    **sae_kwargs: Any,
) -> "dict[str, TrainingSAE[Any]]":
    """Train an L0 sweep of SA-GSAEs (times ``d_sae`` widths, times ``hook_names``)
    on ``model`` (default: ``model_name`` from the hub cache) in one pass, each
    written to ``output/<name>``.

    ``sae_kwargs`` override ``SignAwareGatedTrainingSAEConfig`` fields (``d_in``
    included: it is then checked against every hook instead of read from it).
    """
    from sae_lens_signaware.checks import check_run_config, hook_width
    from sae_lens_signaware.training.multi import train_many
    from sae_lens_signaware.upstream_messages import OVERRIDE_MODEL, UNTOKENIZED, quiet

    d_saes = [d_sae] if isinstance(d_sae, int) else list(d_sae)
    entries = sweep_entries(targets, d_saes, hook_names)
    given_d_in = sae_kwargs.pop("d_in", None)
    settings: dict[str, Any] = dict(
        tokens=tokens, lr=lr, output=output, seed=seed, model_name=model_name
    )
    # every check that needs no model runs before it loads: the SAE fields, the
    # run settings (tokens, dataset), the output folder
    dry = dict.fromkeys(hook_names, given_d_in or 1)
    check_run_config(sweep_config(entries, dry, **settings, **sae_kwargs))
    start_run(output, overwrite, threads)
    loaded = model if model is not None else load_model(model_name)
    d_in = {
        hook: given_d_in if given_d_in is not None else hook_width(loaded, hook)
        for hook in hook_names
    }
    cfg = sweep_config(entries, d_in, **settings, **sae_kwargs)
    with quiet(UNTOKENIZED, OVERRIDE_MODEL):  # the demo's raw text, our model
        return train_many(cfg, override_model=loaded, overwrite=overwrite)


def format_table(saes: "Mapping[str, TrainingSAE[Any]]", output: str | Path) -> str:
    """One row per SAE: name, hook, target L0, d_sae, training L0 (``metadata.l0``), path."""
    rows = [("name", "hook", "target L0", "d_sae", "training L0", "path")]
    for name, sae in saes.items():
        l0 = sae.cfg.metadata.l0
        rows.append(
            (
                name,
                str(sae.cfg.metadata.hook_name),
                f"{getattr(sae.cfg, 'target_l0', None):g}",
                str(sae.cfg.d_sae),
                "-" if l0 is None else f"{l0:.2f}",
                str(Path(output) / name),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "| "
        + " | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True))
        + " |"
        for row in rows
    ]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_flag(
        parser,
        "--targets",
        type=positive_float,
        nargs="+",
        required=True,
        metavar="L0",
        help="target_l0 of each SAE (one SAE per target, width and hook)",
    )
    add_flag(
        parser,
        "--d-sae",
        type=positive_int,
        nargs="+",
        default=[512],
        help="SAE width(s) (default 512)",
    )
    add_flag(
        parser,
        "--hooks",
        nargs="+",
        default=[DEFAULT_HOOK],
        metavar="HOOK",
        help=f"TransformerLens hook(s); d_in is read from each (default {DEFAULT_HOOK})",
    )
    add_training_tokens(parser, SWEEP_TOKENS)
    add_lr(parser, SWEEP_LR)
    add_flag(parser, "--seed", type=int, default=42, help="init and shuffle seed")
    add_output(parser, DEFAULT_OUTPUT, "one SAELens folder per SAE")
    add_sae_overrides(parser, "for every SAE")
    add_threads(parser)


def run(args: argparse.Namespace) -> "dict[str, TrainingSAE[Any]]":
    from sae_lens_signaware_cli.errors import report_user_errors

    with report_user_errors():
        saes = run_sweep(
            targets=args.targets,
            d_sae=args.d_sae,
            hook_names=args.hooks,
            tokens=args.training_tokens,
            lr=args.lr,
            output=args.output,
            seed=args.seed,
            overwrite=args.overwrite,
            threads=args.threads,
            **dict(args.sae),
        )
    print(format_table(saes, args.output))
    print(f"wrote {len(saes)} SAEs in SAELens format to {args.output}")
    return saes
