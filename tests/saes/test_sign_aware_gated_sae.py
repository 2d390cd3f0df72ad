import pytest
import torch
from sae_lens import (
    SAE,
    GatedSAE,
    GatedSAEConfig,
    GatedTrainingSAE,
    GatedTrainingSAEConfig,
)

from sae_lens_signaware import (
    SignAwareGatedSAE,
    SignAwareGatedSAEConfig,
    SignAwareGatedTrainingSAE,
)
from sae_lens_signaware.saes.config import PLAIN_SETTINGS
from tests.helpers import (
    copy_into_training,
    randomize,
    step_input,
    trained_like_sae,
    training_cfg,
)


def test_latents_fire_with_both_signs() -> None:
    sae = trained_like_sae()
    f = sae.encode(torch.randn(512, 8) * 3)
    assert (f > 0).any() and (f < 0).any()


def test_one_sided_equals_sael_gated_sae_from_same_weights() -> None:
    gated = GatedSAE(GatedSAEConfig(d_in=8, d_sae=16))
    randomize(gated)
    ours = SignAwareGatedSAE(SignAwareGatedSAEConfig(d_in=8, d_sae=16, two_sided=False))
    state = gated.state_dict()
    ours.load_state_dict(
        {**state, "threshold_pos": torch.zeros(16), "threshold_neg": torch.zeros(16)}
    )
    x = torch.randn(64, 8) * 2
    assert torch.equal(ours.encode(x), gated.encode(x))
    assert torch.equal(ours(x), gated(x))


def _gated_and_plain_one_sided(
    **kwargs: object,
) -> tuple[GatedTrainingSAE, SignAwareGatedTrainingSAE]:
    gated = GatedTrainingSAE(GatedTrainingSAEConfig(d_in=8, d_sae=16))
    randomize(gated)
    ours = SignAwareGatedTrainingSAE(
        training_cfg(two_sided=False, **{**PLAIN_SETTINGS, **kwargs})
    )
    ours.load_state_dict(
        {
            **gated.state_dict(),
            "threshold_pos": torch.zeros(16),
            "threshold_neg": torch.zeros(16),
            "l0_controller": torch.zeros(2),
        }
    )
    return gated, ours


def test_one_sided_plain_step_equals_gated_but_the_threshold_learns() -> None:
    """PLAIN_SETTINGS, one-sided: forward, losses and every gradient of Gated's
    parameters are Gated's; the threshold (Gated has none) gets a gradient."""
    gated, ours = _gated_and_plain_one_sided(fused_step=False)
    x = torch.randn(64, 8) * 2
    out_g = gated.training_forward_pass(step_input(x, 0.7, "l1"))
    out_o = ours.training_forward_pass(step_input(x, 0.7, "l1"))
    assert torch.equal(out_o.feature_acts, out_g.feature_acts)
    assert torch.equal(out_o.sae_out, out_g.sae_out)
    for name, value in out_g.losses.items():
        assert torch.equal(out_o.losses[name], value), name
    out_g.loss.backward()
    out_o.loss.backward()
    ours_params = dict(ours.named_parameters())
    for name, param in gated.named_parameters():
        assert torch.equal(ours_params[name].grad, param.grad), name
    assert (
        ours.threshold_pos.grad is not None and ours.threshold_pos.grad.abs().sum() > 0
    )


@pytest.mark.parametrize("fused", [False, True])
def test_one_sided_plain_with_frozen_threshold_trains_as_gated(fused: bool) -> None:
    """With ``learn_thresholds=False`` too, training follows Gated's step for
    step: every gradient over several Adam steps (bit for bit on the reference
    path, to float32 rounding on the fused one)."""
    gated, ours = _gated_and_plain_one_sided(learn_thresholds=False, fused_step=fused)
    opt_g = torch.optim.Adam(gated.parameters(), lr=1e-2)
    opt_o = torch.optim.Adam(ours.parameters(), lr=1e-2)
    torch.manual_seed(0)
    for step in range(4):
        x = torch.randn(64, 8) * 2
        out_g = gated.training_forward_pass(step_input(x, 0.7, "l1", step=step))
        out_o = ours.training_forward_pass(step_input(x, 0.7, "l1", step=step))
        out_g.loss.backward()
        out_o.loss.backward()
        assert ours.threshold_pos.grad is None
        ours_params = dict(ours.named_parameters())
        for name, param in gated.named_parameters():
            grad = ours_params[name].grad
            assert grad is not None and param.grad is not None
            if fused:
                torch.testing.assert_close(grad, param.grad, rtol=1e-4, atol=1e-5)
            else:
                assert torch.equal(grad, param.grad), (step, name)
        for opt in (opt_g, opt_o):
            opt.step()
            opt.zero_grad()
    assert torch.all(ours.threshold_pos == 0)
    for name, param in gated.named_parameters():
        torch.testing.assert_close(dict(ours.named_parameters())[name], param)


def test_tied_equals_untied_when_thresholds_equal() -> None:
    sae = trained_like_sae()
    sae.threshold_neg.data.copy_(sae.threshold_pos.data)
    x = torch.randn(64, 8) * 2
    tied = copy_into_training(
        sae, training_cfg(tie_thresholds=True, unit_norm_encoder=False)
    )
    untied = copy_into_training(
        sae, training_cfg(tie_thresholds=False, unit_norm_encoder=False)
    )
    for mode in ("l0", "l1"):
        tied.cfg.sparsity = untied.cfg.sparsity = mode
        a = tied.training_forward_pass(step_input(x, 0.3, mode))
        b = untied.training_forward_pass(step_input(x, 0.3, mode))
        assert torch.equal(a.feature_acts, b.feature_acts)
        torch.testing.assert_close(a.loss, b.loss)
        a.loss.backward()
        b.loss.backward()
        grad_pos, grad_neg = untied.threshold_pos.grad, untied.threshold_neg.grad
        assert tied.threshold_pos.grad is not None
        assert grad_pos is not None and grad_neg is not None
        torch.testing.assert_close(tied.threshold_pos.grad, grad_pos + grad_neg)
        tied.zero_grad()
        untied.zero_grad()


@pytest.mark.parametrize("two_sided", [True, False])
def test_inference_equals_training_in_eval_mode(two_sided: bool) -> None:
    sae = trained_like_sae(two_sided=two_sided)
    training = copy_into_training(
        sae, training_cfg(two_sided=two_sided, tie_thresholds=not two_sided)
    ).eval()
    x = torch.randn(64, 8) * 2
    assert torch.equal(training.encode(x), sae.encode(x))
    assert torch.equal(training(x), sae(x))


def test_fold_W_dec_norm_leaves_outputs_unchanged() -> None:
    sae = trained_like_sae()
    with torch.no_grad():
        sae.W_dec.mul_(torch.rand(16, 1) * 3 + 0.1)
    x = torch.randn(64, 8) * 2
    before_f, before_out = sae.encode(x), sae(x)
    sae.fold_W_dec_norm()
    torch.testing.assert_close(sae.W_dec.norm(dim=1), torch.ones(16))
    torch.testing.assert_close(sae(x), before_out)
    # activations are rescaled by the decoder norms, their support and sign are not
    assert torch.equal(torch.sign(sae.encode(x)), torch.sign(before_f))


def test_training_fold_W_dec_norm_and_activation_scale_keep_outputs() -> None:
    training = SignAwareGatedTrainingSAE(training_cfg(tie_thresholds=True))
    randomize(training)
    training.eval()
    x = torch.randn(64, 8) * 2
    before = training(x)
    training.fold_W_dec_norm()
    torch.testing.assert_close(training(x), before)
    scaled = training(x * 4.0) / 4.0
    training.fold_activation_norm_scaling_factor(4.0)
    torch.testing.assert_close(training(x), scaled)


def test_save_and_load_give_identical_outputs(tmp_path) -> None:
    training = SignAwareGatedTrainingSAE(training_cfg(tie_thresholds=True))
    randomize(training)
    training.eval()
    x = torch.randn(64, 8) * 2
    training.save_inference_model(tmp_path / "inference")
    training.save_model(tmp_path / "checkpoint")
    for folder in ("inference", "checkpoint"):
        loaded = SAE.load_from_disk(tmp_path / folder)
        assert isinstance(loaded, SignAwareGatedSAE)
        assert torch.equal(loaded(x), training(x))
        assert torch.equal(loaded.encode(x), training.encode(x))
    resumed = SignAwareGatedTrainingSAE(training_cfg(tie_thresholds=True))
    resumed.load_weights_from_checkpoint(tmp_path / "checkpoint")
    assert torch.equal(resumed.eval()(x), training(x))


def test_data_init_gives_requested_l0() -> None:
    x = torch.randn(4096, 8)
    for tied, two_sided in ((True, True), (False, True), (True, False)):
        sae = SignAwareGatedTrainingSAE(
            training_cfg(
                d_sae=64, threshold_init_l0=8, tie_thresholds=tied, two_sided=two_sided
            )
        )
        sae.training_forward_pass(step_input(x, 0.0, step=0))
        l0 = (sae.eval().encode(x) != 0).float().sum(-1).mean().item()
        # only the gate is set; a latent also needs the magnitude's sign to agree
        assert 2.0 <= l0 <= 8.5, (tied, two_sided, l0)


def test_dead_latents_get_thresholds_reset() -> None:
    sae = SignAwareGatedTrainingSAE(training_cfg(threshold_init=0.25))
    with torch.no_grad():
        sae.threshold_pos.fill_(5.0)
    dead = torch.zeros(16, dtype=torch.bool)
    dead[:3] = True
    inp = step_input(torch.randn(32, 8), 0.1)
    inp.dead_neuron_mask = dead
    out = sae.training_forward_pass(inp)
    assert out.metrics["threshold_resets"] == 3
    assert sae.n_threshold_resets == 3
    assert sae.threshold_pos[:3].tolist() == [0.25] * 3
    assert torch.all(sae.threshold_pos[3:] == 5.0)


def test_unit_norm_encoder_is_kept_during_training() -> None:
    sae = SignAwareGatedTrainingSAE(training_cfg())
    with torch.no_grad():
        sae.W_enc.mul_(7.0)
    sae.training_forward_pass(step_input(torch.randn(32, 8), 0.1))
    torch.testing.assert_close(sae.W_enc.norm(dim=0), torch.ones(16))


def test_aux_coefficient_zero_removes_the_auxiliary_loss_and_its_gradient() -> None:
    x = torch.randn(64, 8) * 2
    with_aux = SignAwareGatedTrainingSAE(training_cfg(sparsity="l1"))
    randomize(with_aux)
    without = SignAwareGatedTrainingSAE(
        training_cfg(sparsity="l1", aux_coefficient=0.0)
    )
    without.load_state_dict(with_aux.state_dict())
    out_with = with_aux.training_forward_pass(step_input(x, 0.3, "l1"))
    out_without = without.training_forward_pass(step_input(x, 0.3, "l1"))
    assert out_with.losses["auxiliary_reconstruction_loss"] > 0
    assert out_without.losses["auxiliary_reconstruction_loss"] == 0
    torch.testing.assert_close(
        out_with.loss - out_with.losses["auxiliary_reconstruction_loss"],
        out_without.loss,
    )
    out_without.loss.backward()
    # b_gate is reached only through the soft gate (l1 penalty) and, with the
    # estimator, the gates: its gradient must not contain the auxiliary term
    only_aux = SignAwareGatedTrainingSAE(
        training_cfg(sparsity="l1", l1_coefficient=0.0, ste_to_input=False)
    )
    only_aux.load_state_dict(with_aux.state_dict())
    only_aux.training_forward_pass(step_input(x, 0.0, "l1")).loss.backward()
    assert only_aux.b_gate.grad is not None and only_aux.b_gate.grad.abs().sum() > 0
    no_aux = SignAwareGatedTrainingSAE(
        training_cfg(
            sparsity="l1", l1_coefficient=0.0, ste_to_input=False, aux_coefficient=0.0
        )
    )
    no_aux.load_state_dict(with_aux.state_dict())
    no_aux.training_forward_pass(step_input(x, 0.0, "l1")).loss.backward()
    assert no_aux.b_gate.grad is None or torch.all(no_aux.b_gate.grad == 0)
