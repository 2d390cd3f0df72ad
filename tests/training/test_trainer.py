"""``Trainer``: SAELens's trainer with step callbacks and an outside L0 controller."""

import math

import pytest
import torch
from sae_lens import GatedTrainingSAEConfig, TopKTrainingSAEConfig
from sae_lens.config import SAETrainerConfig
from sae_lens.saes.sae import TrainingSAE

from sae_lens_signaware.activations import shuffled_batches
from sae_lens_signaware.training import L0Target, Trainer


def _trainer(cfg, l0_target: L0Target | None = None, **kwargs) -> Trainer:
    sae = TrainingSAE.from_dict(cfg.to_dict())
    trainer_cfg = SAETrainerConfig(
        total_training_samples=4 * 128,
        train_batch_size_samples=128,
        lr=1e-3,
        lr_end=1e-4,
        n_batches_for_norm_estimate=2,
    )
    acts = torch.randn(1024, cfg.d_in)
    return Trainer(
        trainer_cfg,
        sae,
        shuffled_batches(acts, 128),
        l0_target=l0_target,
        **kwargs,
    )


def test_controller_scales_the_named_coefficient_from_the_batch_l0() -> None:
    cfg = GatedTrainingSAEConfig(d_in=16, d_sae=64, l1_coefficient=2.0)
    target = L0Target("l1", target_l0=1.0, gain=0.1, proportional=0.0)
    seen: list[float] = []
    trainer = _trainer(
        cfg, target, on_step=[lambda out: seen.append(out.metrics["sparsity_scale"])]
    )
    assert trainer.get_coefficients() == {"l1": 2.0}
    output = trainer.step(next(trainer.data_provider))
    l0 = float((output.feature_acts != 0).sum(-1).float().mean())
    assert l0 > 1.0  # a fresh Gated SAE fires far more than once per token
    # one integral step: log_scale = gain * log(L0 / target)
    expected = math.exp(0.1 * math.log(l0 / 1.0))
    assert seen == [pytest.approx(expected, rel=1e-5)]
    assert trainer.get_coefficients()["l1"] == pytest.approx(2.0 * expected, rel=1e-5)


def test_controller_refuses_a_coefficient_the_sae_does_not_have() -> None:
    with pytest.raises(ValueError, match=r"'l0' is not a coefficient of .* \['l1'\]"):
        _trainer(GatedTrainingSAEConfig(d_in=8, d_sae=16), L0Target("l0", 4.0))
    with pytest.raises(ValueError, match="target_l0 must be > 0"):
        L0Target("l1", 0.0)


def test_without_a_controller_the_trainer_is_saelens_trainer() -> None:
    cfg = TopKTrainingSAEConfig(d_in=8, d_sae=16, k=2)
    torch.manual_seed(0)
    ours = _trainer(cfg)
    torch.manual_seed(0)
    from sae_lens.training.sae_trainer import SAETrainer

    sae = TrainingSAE.from_dict(cfg.to_dict())
    theirs = SAETrainer(ours.cfg, sae, ours.data_provider)
    theirs.sae.load_state_dict(ours.sae.state_dict())
    batch = torch.randn(128, 8)
    a, b = ours.step(batch), theirs.step(batch)
    assert torch.equal(a.sae_out, b.sae_out)
    for p, q in zip(ours.sae.parameters(), theirs.sae.parameters(), strict=True):
        assert torch.equal(p, q)


def test_trainer_state_keeps_the_global_sample_count(tmp_path, monkeypatch) -> None:
    from sae_lens_signaware.training import data_parallel

    trainer = _trainer(TopKTrainingSAEConfig(d_in=8, d_sae=16, k=2))
    trainer.n_training_samples, trainer.n_training_steps = 640, 5
    monkeypatch.setattr(data_parallel, "world_size", lambda: 2)  # saved by 2 ranks
    trainer.save_trainer_state(tmp_path)
    assert trainer.n_training_samples == 640  # this rank's count is untouched
    monkeypatch.setattr(data_parallel, "world_size", lambda: 4)  # resumed on 4
    resumed = _trainer(TopKTrainingSAEConfig(d_in=8, d_sae=16, k=2))
    resumed.load_trainer_state(tmp_path)
    assert resumed.n_training_samples == 2 * 640 // 4
    assert resumed.n_training_steps == 5
