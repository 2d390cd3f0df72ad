"""The main job: train an SA-GSAE on the real model, evaluate it on held-out text, save it.

Trains on ``blocks.1.hook_mlp_out`` of ``raincandy-u/TinyStories-656K`` with
SAELens's ``LanguageModelSAETrainingRunner`` (TinyStories ``train.jsonl``), then
evaluates the saved SAE, loaded back with ``SAE.load_from_disk``, on
``validation.jsonl``: SAELens's ``run_evals`` and our sign census. The SAE (in
SAELens format) and ``metrics.json`` go to ``--output``, together: the folder is
built in a hidden sibling and renamed into place only once both are written
(``outputs.atomic_output``), an existing one is replaced only with
``--overwrite``, and a second run into the same folder is refused.
"""

import argparse
import dataclasses
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from sae_lens import LanguageModelSAERunnerConfig, LoggingConfig
from sae_lens.constants import RUNNER_CFG_FILENAME

from sae_lens_signaware.assets import (
    DEFAULT_HOOK,
    DEFAULT_MODEL,
    tinystories_dir,
    use_offline_hub,
)
from sae_lens_signaware.checks import check_run_config
from sae_lens_signaware.evaluation import evaluate
from sae_lens_signaware.loading import load_sae
from sae_lens_signaware.models import load_hooked_model
from sae_lens_signaware.outputs import atomic_output, check_output_path
from sae_lens_signaware.saes import SignAwareGatedTrainingSAEConfig
from sae_lens_signaware.training import SignAwareTrainingRunner
from sae_lens_signaware.user_errors import report_user_errors

METRICS_FILENAME = "metrics.json"
#: 800k tokens at lr 3e-3: the fused step made training ~3x cheaper, and every
#: architecture picked 3e-3 in the issue-10 learning-rate grid
#: (docs/results/quality); 500k at 3e-4 gave EV 0.646 at L0 12.6
MAIN_JOB_TOKENS = 800_000
MAIN_JOB_LR = 3e-3
#: The main job asks the L0 controller for this L0 (``target_l0``; the first
#: step's thresholds start there too): with the issue-10 defaults a fixed
#: ``l0_coefficient`` of 3 settles at L0 5.3 (EV 0.737), so the job names its L0
#: instead of inheriting it from the penalty's scale.
MAIN_JOB_TARGET_L0 = 8.0
#: How the main job (and ``sae-signaware sweep``) stream TinyStories through the
#: model: 128-token contexts, SAE batches of 1024 tokens, a 32-batch shuffle buffer.
TINYSTORIES_STREAM: dict[str, Any] = {
    "model_class_name": "HookedTransformer",
    "dataset_trust_remote_code": False,
    "streaming": True,
    "context_size": 128,
    "train_batch_size_tokens": 1024,
    "store_batch_size_prompts": 16,
    "n_batches_in_buffer": 32,
    "n_batches_for_norm_estimate": 20,
}


def main_job_config(
    tokens: int = MAIN_JOB_TOKENS,
    lr: float = MAIN_JOB_LR,
    output: str | Path | None = "output/main_job",
    seed: int = 42,
    **sae_kwargs: Any,
) -> LanguageModelSAERunnerConfig[SignAwareGatedTrainingSAEConfig]:
    """The runner config of the main job; ``sae_kwargs`` override the SA-GSAE's
    (d_in 128, d_sae 512, normalised inputs, ``target_l0`` and
    ``threshold_init_l0`` at ``MAIN_JOB_TARGET_L0``, else the config class's
    defaults)."""
    check_sae_fields(sae_kwargs)
    sae_cfg = {
        "d_in": 128,
        "d_sae": 512,
        "normalize_activations": "expected_average_only_in",
        "target_l0": MAIN_JOB_TARGET_L0,
        "threshold_init_l0": MAIN_JOB_TARGET_L0,
        **sae_kwargs,
    }
    return LanguageModelSAERunnerConfig(
        sae=SignAwareGatedTrainingSAEConfig(**sae_cfg),
        model_name=DEFAULT_MODEL,
        hook_name=DEFAULT_HOOK,
        dataset_path=str(tinystories_dir()),
        is_dataset_tokenized=False,
        training_tokens=tokens,
        lr=lr,
        seed=seed,
        logger=LoggingConfig(log_to_wandb=False),
        checkpoint_path=None,
        output_path=None if output is None else str(output),
        verbose=False,
        **TINYSTORIES_STREAM,
    )


def check_sae_fields(sae_kwargs: dict[str, Any]) -> None:
    """Raise a ValueError naming an override that is not a config field."""
    known = {f.name for f in dataclasses.fields(SignAwareGatedTrainingSAEConfig)}
    unknown = sorted(set(sae_kwargs) - known)
    if unknown:
        raise ValueError(
            f"unknown SignAwareGatedTrainingSAEConfig field(s) {unknown}; "
            f"fields: {', '.join(sorted(known - {'metadata'}))}"
        )


def run_main_job(
    tokens: int = MAIN_JOB_TOKENS,
    lr: float = MAIN_JOB_LR,
    output: str | Path = "output/main_job",
    eval_batches: int = 20,
    threads: int | None = 1,
    overwrite: bool = False,
    skip_non_finite_batches: bool = False,
    **sae_kwargs: Any,
) -> dict[str, Any]:
    """Train, save, load back, evaluate; write and return the metrics.

    Every check (config fields, token count, output folder) runs before the
    model loads; the SAE and the metrics appear in ``output`` together or not
    at all (see the module docstring).
    """
    start = time.perf_counter()
    cfg = main_job_config(tokens=tokens, lr=lr, output=None, **sae_kwargs)
    check_run_config(cfg)
    if not (isinstance(eval_batches, int) and eval_batches > 0):
        raise ValueError(f"eval_batches must be an int > 0, got {eval_batches!r}")
    check_output_path(output, overwrite)
    if threads:
        torch.set_num_threads(threads)
    use_offline_hub()
    with atomic_output(output, overwrite=overwrite) as staging:
        model = load_hooked_model(DEFAULT_MODEL)
        cfg.output_path = str(staging)
        torch.manual_seed(cfg.seed)  # the runner leaves seeding to its caller
        losses: list[float] = []
        runner = SignAwareTrainingRunner(
            cfg,
            override_model=model,
            on_step=[lambda out: losses.append(float(out.loss.detach()))],
            protect_output=False,  # staging is ours
            skip_non_finite_batches=skip_non_finite_batches,
        )
        runner.run()
        train_seconds = time.perf_counter() - start
        _record_output_path(staging, output)

        sae = load_sae(staging)
        metrics: dict[str, Any] = evaluate(
            sae, model, tinystories_dir(), "validation", n_batches=eval_batches
        )
        metrics.update(
            training_tokens=tokens,
            training_steps=len(losses),
            skipped_batches=runner.skipped_batches,
            loss_first=losses[0],
            loss_last=sum(losses[-10:]) / len(losses[-10:]),
            train_seconds=train_seconds,
            wall_seconds=time.perf_counter() - start,
        )
        with open(staging / METRICS_FILENAME, "w") as f:
            json.dump(metrics, f, indent=2, allow_nan=False)
    return metrics


def _record_output_path(staging: Path, output: str | Path) -> None:
    """The saved runner config names the published folder, not the staging one."""
    path = staging / RUNNER_CFG_FILENAME
    runner_cfg = json.loads(path.read_text())
    runner_cfg["output_path"] = str(output)
    path.write_text(json.dumps(runner_cfg))


ROWS = (
    ("training tokens", "training_tokens", "{:,.0f}"),
    ("training steps", "training_steps", "{:,.0f}"),
    ("loss, first step", "loss_first", "{:.4g}"),
    ("loss, last 10 steps", "loss_last", "{:.4g}"),
    ("eval tokens (census)", "census_tokens", "{:,.0f}"),
    ("L0", "l0", "{:.2f}"),
    ("  L0 positive", "l0_positive", "{:.2f}"),
    ("  L0 negative", "l0_negative", "{:.2f}"),
    ("explained variance", "explained_variance", "{:.4f}"),
    ("CE loss recovered", "ce_loss_score", "{:.4f}"),
    ("  CE clean / SAE / zero-abl.", None, None),
    ("KL score", "kl_div_score", "{:.4f}"),
    ("  KL with SAE (nats)", "kl_div_with_sae", "{:.4f}"),
    ("dead latents", "dead_fraction", "{:.1%}"),
    ("latents: positive only", "positive_only_fraction", "{:.1%}"),
    ("latents: negative only", "negative_only_fraction", "{:.1%}"),
    ("latents: both signs", "both_signs_fraction", "{:.1%}"),
    ("train time (s)", "train_seconds", "{:.1f}"),
    ("wall time after imports (s)", "wall_seconds", "{:.1f}"),
)


def format_table(metrics: dict[str, Any]) -> str:
    """The metrics as a two-column text table."""
    lines = []
    for label, key, fmt in ROWS:
        if key is None:
            value = "{:.3f} / {:.3f} / {:.3f}".format(
                metrics["ce_loss_without_sae"],
                metrics["ce_loss_with_sae"],
                metrics["ce_loss_with_ablation"],
            )
        else:
            assert fmt is not None
            value = fmt.format(metrics[key])
        lines.append(f"| {label:<29} | {value:>24} |")
    rule = f"|{'-' * 31}|{'-' * 26}|"
    header = f"| {'metric (validation split)':<29} | {'value':>24} |"
    return "\n".join([header, rule, *lines])


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--tokens", type=int, default=MAIN_JOB_TOKENS, help="training tokens"
    )
    parser.add_argument("--lr", type=float, default=MAIN_JOB_LR, help="learning rate")
    parser.add_argument("--output", default="output/main_job", help="output folder")
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an existing --output (atomically; else the run is refused)",
    )
    parser.add_argument(
        "--skip-non-finite-batches",
        action="store_true",
        help="drop input batches with NaN/inf (counted in metrics.json) "
        "instead of stopping",
    )
    parser.add_argument(
        "--eval-batches",
        type=int,
        default=20,
        help="eval batches of 16 x 128 tokens, per run_evals pass",
    )
    parser.add_argument(
        "--sae",
        type=_field_value,
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="override a SignAwareGatedTrainingSAEConfig default (repeatable), "
        "e.g. --sae l0_coefficient=2 --sae ste_to_input=false",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch CPU threads (1 is fastest for this tiny model; 0 keeps torch's)",
    )


def _field_value(text: str) -> tuple[str, Any]:
    """``FIELD=VALUE``, the value read as JSON where it parses (``0.5``, ``true``);
    other text stays a string, which the config parses (``False``, ``no``) or refuses."""
    field, sep, raw = text.partition("=")
    if not sep or not field:
        raise argparse.ArgumentTypeError(f"expected FIELD=VALUE, got {text!r}")
    try:
        return field, json.loads(raw)
    except json.JSONDecodeError:
        return field, raw


def run(args: argparse.Namespace) -> dict[str, Any]:
    with report_user_errors():
        metrics = run_main_job(
            tokens=args.tokens,
            lr=args.lr,
            output=args.output,
            eval_batches=args.eval_batches,
            threads=args.threads,
            overwrite=args.overwrite,
            skip_non_finite_batches=args.skip_non_finite_batches,
            **dict(args.sae),
        )
    print(format_table(metrics))
    print(f"saved the SAE and {METRICS_FILENAME} to {args.output}")
    return metrics


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser)
    run(parser.parse_args(argv))


if __name__ == "__main__":
    main()
