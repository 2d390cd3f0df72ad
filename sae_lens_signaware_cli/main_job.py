"""``sae-signaware main-job``: train an SA-GSAE on the offline model, evaluate it on
held-out text, save it.

Trains on ``blocks.1.hook_mlp_out`` of ``raincandy-u/TinyStories-656K`` with
SAELens's runner (TinyStories ``train.jsonl``), then evaluates the saved SAE,
loaded back with ``SAE.load_from_disk``, on ``validation.jsonl``: SAELens's
``run_evals`` and the sign census. The SAE (SAELens format) and
``metrics.json`` appear in ``--output`` together, renamed into place once both
are written; an existing folder is replaced only with ``--overwrite``.
"""

import argparse
import dataclasses
import json
import time
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
    positive_int,
)
from sae_lens_signaware_cli.runs import TINYSTORIES_STREAM, load_model, start_run

if TYPE_CHECKING:
    from sae_lens import LanguageModelSAERunnerConfig

    from sae_lens_signaware import SignAwareGatedTrainingSAEConfig

DESCRIPTION = __doc__
METRICS_FILENAME = "metrics.json"
DEFAULT_OUTPUT = "output/main_job"
#: 800k tokens at lr 3e-3 (every architecture picked 3e-3 in the learning-rate
#: grid of docs/results.md, "Training quality")
MAIN_JOB_TOKENS = 800_000
MAIN_JOB_LR = 3e-3
#: The L0 the main job asks the controller for (``target_l0``; the first step's
#: thresholds start there too)
MAIN_JOB_TARGET_L0 = 8.0
EVAL_BATCHES = 20


def main_job_config(
    tokens: int = MAIN_JOB_TOKENS,
    lr: float = MAIN_JOB_LR,
    output: str | Path | None = DEFAULT_OUTPUT,
    seed: int = 42,
    dataset_path: str | Path | None = None,
    **sae_kwargs: Any,
) -> "LanguageModelSAERunnerConfig[SignAwareGatedTrainingSAEConfig]":
    """The runner config of the main job; ``sae_kwargs`` override the SA-GSAE's
    (d_in 128, d_sae 512, normalised inputs, ``target_l0`` and
    ``threshold_init_l0`` at ``MAIN_JOB_TARGET_L0``, else the config's defaults)."""
    from sae_lens import LanguageModelSAERunnerConfig, LoggingConfig

    from sae_lens_signaware import SignAwareGatedTrainingSAEConfig
    from sae_lens_signaware_cli.assets import tinystories_dir

    check_sae_fields(sae_kwargs)
    sae_cfg = SignAwareGatedTrainingSAEConfig(
        d_in=128,
        d_sae=512,
        normalize_activations="expected_average_only_in",
        target_l0=MAIN_JOB_TARGET_L0,
        threshold_init_l0=MAIN_JOB_TARGET_L0,
    )
    return LanguageModelSAERunnerConfig(
        sae=dataclasses.replace(sae_cfg, **sae_kwargs),
        model_name=DEFAULT_MODEL,
        hook_name=DEFAULT_HOOK,
        dataset_path=str(dataset_path or tinystories_dir()),
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
    from sae_lens_signaware import SignAwareGatedTrainingSAEConfig

    known = {f.name for f in dataclasses.fields(SignAwareGatedTrainingSAEConfig)}
    known.discard("metadata")  # set by the runner, not a training option
    unknown = sorted(set(sae_kwargs) - known)
    if unknown:
        raise ValueError(
            f"unknown SignAwareGatedTrainingSAEConfig field(s) {unknown}; "
            f"fields: {', '.join(sorted(known))}"
        )


def run_main_job(
    tokens: int = MAIN_JOB_TOKENS,
    lr: float = MAIN_JOB_LR,
    output: str | Path = DEFAULT_OUTPUT,
    eval_batches: int = EVAL_BATCHES,
    threads: int = 1,
    overwrite: bool = False,
    skip_non_finite_batches: bool = False,
    **sae_kwargs: Any,
) -> dict[str, Any]:
    """Train, save, load back, evaluate; write and return the metrics.

    Every check (config fields, token count, evaluation size, output folder)
    runs before the model loads; the SAE and the metrics appear in ``output``
    together or not at all.
    """
    import torch

    from sae_lens_signaware.checks import check_run_config
    from sae_lens_signaware.evaluation import check_eval_batches, evaluate
    from sae_lens_signaware.loading import load_sae
    from sae_lens_signaware.outputs import atomic_output
    from sae_lens_signaware.training import SignAwareTrainingRunner
    from sae_lens_signaware.upstream_messages import OVERRIDE_MODEL, UNTOKENIZED, quiet
    from sae_lens_signaware_cli.assets import tinystories_dir

    start = time.perf_counter()
    cfg = main_job_config(tokens=tokens, lr=lr, output=None, **sae_kwargs)
    check_run_config(cfg)
    check_eval_batches(eval_batches, tinystories_dir(), "validation")
    start_run(output, overwrite, threads)
    with atomic_output(output, overwrite=overwrite) as staging:
        model = load_model(DEFAULT_MODEL)
        cfg.output_path = str(staging)
        torch.manual_seed(cfg.seed)  # the runner leaves seeding to its caller
        losses: list[float] = []
        with quiet(UNTOKENIZED, OVERRIDE_MODEL):  # the demo's raw text, our model
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
    from sae_lens.constants import RUNNER_CFG_FILENAME

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
    add_training_tokens(parser, MAIN_JOB_TOKENS)
    add_lr(parser, MAIN_JOB_LR)
    add_output(parser, DEFAULT_OUTPUT, "the SAE and metrics.json")
    add_flag(
        parser,
        "--skip-non-finite-batches",
        action="store_true",
        help="drop input batches with NaN/inf (counted in metrics.json) instead "
        "of stopping",
    )
    add_flag(
        parser,
        "--eval-batches",
        type=positive_int,
        default=EVAL_BATCHES,
        help=f"evaluation batches of 16 x 128 tokens per run_evals pass "
        f"(default {EVAL_BATCHES}; at most what the validation text holds)",
    )
    add_sae_overrides(parser, "")
    add_threads(parser)


def run(args: argparse.Namespace) -> dict[str, Any]:
    from sae_lens_signaware_cli.errors import report_user_errors

    with report_user_errors():
        metrics = run_main_job(
            tokens=args.training_tokens,
            lr=args.lr,
            output=args.output,
            eval_batches=args.eval_batches,
            threads=args.threads,
            overwrite=args.overwrite,
            skip_non_finite_batches=args.skip_non_finite_batches,
            **dict(args.sae),
        )
    print(format_table(metrics))
    print(f"wrote the SAE (SAELens format) and {METRICS_FILENAME} to {args.output}")
    return metrics
