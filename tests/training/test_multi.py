"""Training under SAELens's multi-SAE trainer gives each SA-GSAE the weights of training it alone.

"The same activation stream" is made exact in two ways:

- trainer level: one recorded list of multi-hook batches from the real model
  (SAELens's multi-hook store) feeds ``MultiSAETrainer`` and, hook by hook,
  a lone ``SAETrainer`` (what single-SAE training runs) on the very same tensors;
- runner level: ``train_many`` with several SAEs and with one of them alone,
  same seed and same hook, so the store yields the same shuffled stream.

Tolerance: none (``torch.equal``). Both sides run the same ops on the same
tensors in the same order on one CPU thread; the SA-GSAE's step draws no
random numbers, and the multi-SAE trainer shares no state between its SAEs
(each has its own optimizer, scaler and sparsity counters), so any difference
at all would mean the SAEs interfere.
"""

from typing import Any

import pytest
import torch
from sae_lens import SAE
from sae_lens.multi_sae_training_runner import MultiSAETrainingRunner
from sae_lens.training.multi_sae_trainer import MultiSAETrainer
from sae_lens.training.sae_trainer import SAETrainer

from sae_lens_signaware.training.multi import seeded_saes
from sae_lens_signaware_cli.assets import DEFAULT_HOOK
from sae_lens_signaware_cli.sweep import SweepEntry, run_sweep, sweep_config

OTHER_HOOK = "blocks.0.hook_resid_post"
#: two targets and two widths at one hook, and a third SAE at another hook
ENTRIES = [
    SweepEntry("a_l0_4", DEFAULT_HOOK, 128, 4.0),
    SweepEntry("a_l0_16", DEFAULT_HOOK, 256, 16.0),
    SweepEntry("b_l0_8", OTHER_HOOK, 128, 8.0),
]
N_NORM = 4
N_STEPS = 12


def assert_same_weights(a: torch.nn.Module, b: torch.nn.Module, name: str) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys(), name
    for key in sa:
        assert torch.equal(sa[key], sb[key]), f"{name}.{key} differs"


def test_multi_sae_trainer_matches_each_sae_alone(tinystories_model: Any) -> None:
    cfg = sweep_config(
        ENTRIES,
        {DEFAULT_HOOK: 128, OTHER_HOOK: 128},
        tokens=N_STEPS * 1024,
        lr=1e-2,
        output=None,
    )
    # small windows, so dead-latent resets and sparsity-window resets happen
    cfg.n_batches_for_norm_estimate = N_NORM
    cfg.dead_feature_window = 3
    cfg.feature_sampling_window = 5
    runner = MultiSAETrainingRunner(
        cfg, override_model=tinystories_model, override_saes=seeded_saes(cfg)
    )
    loader = runner.activations_store.get_multi_hook_data_loader()
    stream = [next(loader) for _ in range(N_NORM + N_STEPS)]
    trainer_cfg = cfg.to_sae_trainer_config()

    together = MultiSAETrainer(
        trainer_cfg,
        seeded_saes(cfg),
        cfg.hook_names_per_sae,
        data_provider=iter(stream),
    ).fit()

    initial = seeded_saes(cfg)
    for name, sae in seeded_saes(cfg).items():
        hook = cfg.hook_names_per_sae[name]
        alone = SAETrainer(
            trainer_cfg, sae, data_provider=iter([b[hook] for b in stream])
        )
        alone.fit()
        assert_same_weights(together[name], alone.sae, name)
        assert together[name].cfg.metadata.l0 == alone.sae.cfg.metadata.l0
        assert not torch.equal(alone.sae.W_enc, initial[name].W_enc)  # it trained


@pytest.fixture(scope="module")
def sweep_pair(
    tinystories_model: Any, tmp_path_factory: pytest.TempPathFactory
) -> tuple[dict[str, SAE[Any]], dict[str, SAE[Any]]]:
    """The same SAE trained in a 3-SAE sweep and alone, through the upstream runner."""
    out = tmp_path_factory.mktemp("sweeps")
    kwargs: dict[str, Any] = dict(
        d_sae=128, tokens=8 * 1024, lr=1e-2, model=tinystories_model
    )
    run_sweep([2, 8, 32], output=out / "together", **kwargs)
    run_sweep([8], output=out / "alone", **kwargs)
    load = SAE.load_from_disk
    return (
        {n: load(out / "together" / n) for n in ("l0_2", "l0_8", "l0_32")},
        {"l0_8": load(out / "alone" / "l0_8")},
    )


def test_runner_sweep_matches_the_sae_alone(
    sweep_pair: tuple[dict[str, SAE[Any]], dict[str, SAE[Any]]],
) -> None:
    together, alone = sweep_pair
    assert_same_weights(together["l0_8"], alone["l0_8"], "l0_8")
    assert together["l0_8"].cfg.metadata.l0 == alone["l0_8"].cfg.metadata.l0
    # same init and stream, different targets: the others did not stay in step
    assert not torch.equal(together["l0_2"].W_enc, together["l0_8"].W_enc)
