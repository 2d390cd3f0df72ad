"""Many SA-GSAEs from one pass of the model: an L0 sweep with SAELens's ``MultiSAETrainingRunner``.

``run_sweep`` trains one SA-GSAE per (hook, width, ``target_l0``) on one
activation stream: the model runs once per batch and every SAE takes its hook's
slice. Each SAE is written in SAELens format to ``output/<name>`` (load it with
``SAE.load_from_disk``), its target in ``cfg.json``
(``metadata.training_architecture_details.target_l0``) and its training L0 in
``metadata.l0``.

What we add around the upstream runner:

- each SAE is initialised from ``seed`` alone (``seeded_saes``), not from
  wherever the global RNG stood after the SAEs built before it, so an SAE's
  weights do not depend on which other SAEs share the run;
- each SAE trains on its own copy of its config, so the runner config (and
  its ``runner_cfg.json``) keeps what was asked for;
- the runner leaves seeding to its caller; ``train_many`` seeds the stream
  (the activation store's shuffle) with ``cfg.seed``;
- ``d_in`` is read from each hook (``checks.hook_width``) or checked against
  it, before anything is written (upstream notices a mismatch deep inside the
  activation store);
- the runner writes into its ``output_path`` as it goes; we give it a staging
  folder (``outputs.atomic_output``) renamed into place when every SAE is
  written, and refuse an existing output unless ``overwrite``.
"""

import argparse
import copy
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import torch
from sae_lens import LoggingConfig
from sae_lens.constants import RUNNER_CFG_FILENAME
from sae_lens.multi_sae_training_runner import (
    MultiSAETrainingRunner,
    MultiSAETrainingRunnerConfig,
)
from sae_lens.registry import get_sae_training_class
from sae_lens.saes.sae import TrainingSAE
from transformer_lens.hook_points import HookedRootModule

from sae_lens_signaware.assets import (
    DEFAULT_HOOK,
    DEFAULT_MODEL,
    tinystories_dir,
    use_offline_hub,
)
from sae_lens_signaware.checks import (
    check_d_in,
    check_run_config,
    hook_width,
)
from sae_lens_signaware.main_job import TINYSTORIES_STREAM, _field_value
from sae_lens_signaware.models import load_hooked_model
from sae_lens_signaware.outputs import (
    atomic_output,
    check_output_path,
)
from sae_lens_signaware.saes import SignAwareGatedTrainingSAEConfig
from sae_lens_signaware.user_errors import report_user_errors


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
    and ``{hook}-`` prefixes only where several widths or hooks are swept."""
    for field_name, values in (
        ("targets", targets),
        ("d_saes", d_saes),
        ("hook_names", hook_names),
    ):
        if not values:
            raise ValueError(f"sweep {field_name} is empty")
        if len(set(values)) != len(values):
            raise ValueError(f"sweep {field_name} has repeats: {list(values)}")
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
    tokens: int = 200_000,
    lr: float = 3e-4,
    output: str | Path | None = "output/sweep",
    seed: int = 42,
    model_name: str = DEFAULT_MODEL,
    dataset_path: str | Path | None = None,
    **sae_kwargs: Any,
) -> MultiSAETrainingRunnerConfig:
    """The runner config of a sweep, with the main job's stream settings (context
    128, batches of 1024 tokens, normalised inputs); ``d_in`` maps each hook to
    its width; ``sae_kwargs`` override ``SignAwareGatedTrainingSAEConfig`` fields."""
    known = {f.name for f in fields(SignAwareGatedTrainingSAEConfig)}
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
        saes[entry.name] = SignAwareGatedTrainingSAEConfig(
            **{
                "normalize_activations": "expected_average_only_in",
                **sae_kwargs,
                "d_in": d_in[entry.hook_name],
                "d_sae": entry.d_sae,
                "target_l0": entry.target_l0,
            }
        )
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


def seeded_saes(cfg: MultiSAETrainingRunnerConfig) -> dict[str, TrainingSAE[Any]]:
    """The training SAEs of ``cfg``, each initialised from ``cfg.seed`` alone
    (upstream builds them one after another from the global RNG), each on its
    own copy of its config (upstream shares ``cfg.saes[name]``, which training
    edits: folding the norm scaling sets ``normalize_activations="none"``)."""
    saes: dict[str, TrainingSAE[Any]] = {}
    for name, sae_cfg in cfg.saes.items():
        sae_class, _ = get_sae_training_class(sae_cfg.architecture())
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(cfg.seed)
            saes[name] = sae_class(copy.deepcopy(sae_cfg))
    return saes


def train_many(
    cfg: MultiSAETrainingRunnerConfig,
    override_model: HookedRootModule | None = None,
    overwrite: bool = False,
) -> dict[str, TrainingSAE[Any]]:
    """Check the run settings and ``d_in`` at every hook, train every SAE of
    ``cfg`` on one activation stream, and (if ``cfg.output_path``) write each to
    ``output_path/<name>``."""
    check_run_config(cfg, override_model)
    output = cfg.output_path
    if output is not None:
        check_output_path(output, overwrite)
    runner = MultiSAETrainingRunner(
        cfg, override_model=override_model, override_saes=seeded_saes(cfg)
    )
    for name, hook in cfg.hook_names_per_sae.items():
        check_d_in(
            runner.model,
            hook,
            cfg.saes[name].d_in,
            cfg.hook_head_indices_per_sae[name],
            cfg.model_kwargs,
        )
    torch.manual_seed(cfg.seed)
    if output is None:
        return runner.run()
    with atomic_output(output, overwrite=overwrite) as staging:
        cfg.output_path = str(staging)
        try:
            saes = runner.run()
        finally:
            cfg.output_path = output
        with open(staging / RUNNER_CFG_FILENAME, "w") as f:
            json.dump(cfg.to_dict(), f)  # records ``output``, not ``staging``
    return saes


def run_sweep(
    targets: Sequence[float],
    d_sae: int | Sequence[int] = 512,
    hook_names: Sequence[str] = (DEFAULT_HOOK,),
    tokens: int = 200_000,
    lr: float = 3e-4,
    output: str | Path = "output/sweep",
    seed: int = 42,
    overwrite: bool = False,
    model: HookedRootModule | None = None,
    model_name: str = DEFAULT_MODEL,
    threads: int | None = 1,
    **sae_kwargs: Any,
) -> dict[str, TrainingSAE[Any]]:
    """Train an L0 sweep of SA-GSAEs (times ``d_sae`` widths, times ``hook_names``)
    on ``model`` (default: ``model_name`` from the hub cache) in one pass, each
    written to ``output/<name>``.

    ``sae_kwargs`` override ``SignAwareGatedTrainingSAEConfig`` fields (``d_in``
    included: it is then checked against every hook instead of read from it).
    """
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
    check_output_path(output, overwrite)
    if threads:
        torch.set_num_threads(threads)
    if model is None:
        use_offline_hub()
        model = load_hooked_model(model_name)
    d_in = {
        hook: given_d_in if given_d_in is not None else hook_width(model, hook)
        for hook in hook_names
    }
    cfg = sweep_config(entries, d_in, **settings, **sae_kwargs)
    return train_many(cfg, override_model=model, overwrite=overwrite)


def format_table(saes: Mapping[str, TrainingSAE[Any]], output: str | Path) -> str:
    """One row per SAE: name, hook, target L0, d_sae, training L0 (``metadata.l0``), path."""
    rows = [("name", "hook", "target", "d_sae", "train L0", "path")]
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
    parser.add_argument(
        "--targets",
        type=float,
        nargs="+",
        required=True,
        metavar="L0",
        help="target_l0 of each SAE (one SAE per target, width and hook)",
    )
    parser.add_argument(
        "--d-sae", type=int, nargs="+", default=[512], help="SAE width(s)"
    )
    parser.add_argument(
        "--hooks",
        nargs="+",
        default=[DEFAULT_HOOK],
        metavar="HOOK",
        help="TransformerLens hook(s); d_in is read from each",
    )
    parser.add_argument("--tokens", type=int, default=200_000, help="training tokens")
    parser.add_argument("--lr", type=float, default=3e-4, help="learning rate")
    parser.add_argument("--seed", type=int, default=42, help="init and shuffle seed")
    parser.add_argument("--out", default="output/sweep", help="output folder")
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an existing output folder (once every SAE is trained)",
    )
    parser.add_argument(
        "--sae",
        type=_field_value,
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="override a SignAwareGatedTrainingSAEConfig default for every SAE "
        "(repeatable), e.g. --sae l0_coefficient=2",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch CPU threads (0 keeps torch's)",
    )


def run(args: argparse.Namespace) -> dict[str, TrainingSAE[Any]]:
    with report_user_errors():
        saes = run_sweep(
            targets=args.targets,
            d_sae=args.d_sae,
            hook_names=args.hooks,
            tokens=args.tokens,
            lr=args.lr,
            output=args.out,
            seed=args.seed,
            overwrite=args.overwrite,
            threads=args.threads,
            **dict(args.sae),
        )
    print(format_table(saes, args.out))
    print(f"saved {len(saes)} SAEs in SAELens format under {args.out}")
    return saes
