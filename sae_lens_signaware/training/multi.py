"""Many SAEs from one activation stream: SAELens's ``MultiSAETrainingRunner`` with
this package's guarantees.

``train_many`` trains every SAE of a ``MultiSAETrainingRunnerConfig`` (any
architectures) on one pass of the model per batch. Around the upstream runner:

- each SAE is initialised from ``cfg.seed`` alone (``seeded_saes``), not from
  wherever the global RNG stood after the SAEs built before it, so an SAE's
  weights do not depend on which other SAEs share the run;
- each SAE trains on its own copy of its config, so the runner config (and
  its ``runner_cfg.json``) keeps what was asked for;
- the stream's shuffle is seeded with ``cfg.seed`` (upstream leaves seeding to
  its caller);
- ``d_in`` is checked against every hook before anything is written
  (upstream notices a mismatch deep inside the activation store);
- the output folder is staged and renamed into place when every SAE is
  written (``outputs.atomic_output``), an existing one is refused unless
  ``overwrite``, and no SAE with a NaN or inf is published (the SA-GSAE
  refuses to save one; every SAE is checked before the folder is renamed).
"""

import copy
import json
from typing import Any

import torch
from sae_lens.constants import RUNNER_CFG_FILENAME
from sae_lens.multi_sae_training_runner import (
    MultiSAETrainingRunner,
    MultiSAETrainingRunnerConfig,
)
from sae_lens.registry import get_sae_training_class
from sae_lens.saes.sae import TrainingSAE
from transformer_lens.hook_points import HookedRootModule

from sae_lens_signaware.checks import check_d_in, check_run_config
from sae_lens_signaware.outputs import atomic_output, check_output_path
from sae_lens_signaware.training.guards import check_finite_sae


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
        return _run_checked(runner)
    with atomic_output(output, overwrite=overwrite) as staging:
        cfg.output_path = str(staging)
        try:
            saes = _run_checked(runner)
        finally:
            cfg.output_path = output
        with open(staging / RUNNER_CFG_FILENAME, "w") as f:
            json.dump(cfg.to_dict(), f)  # records ``output``, not ``staging``
    return saes


def _run_checked(runner: MultiSAETrainingRunner) -> dict[str, TrainingSAE[Any]]:
    saes = runner.run()
    for sae in saes.values():
        check_finite_sae(sae)
    return saes
