"""``sign_encoders="per_sign"``: the negative side has its own detector.

The per-sign model is two JumpReLU-style latents with antipodal decoder rows;
freshly initialised it computes what the shared model computes; it trains as
a one-sided step over both sides (the fused path against the reference one is
in ``test_fused_step.py``); every surface keeps it: save and load, folds,
``to_jumprelu``."""

import pytest
import torch
from sae_lens import SAE, JumpReLUSAE

from sae_lens_signaware import (
    SignAwareGatedSAE,
    SignAwareGatedSAEConfig,
    SignAwareGatedTrainingSAE,
    StateDictError,
)
from sae_lens_signaware.convert import to_jumprelu
from tests.helpers import (
    copy_into_training,
    randomize,
    step_input,
    trained_like_sae,
    training_cfg,
)

NEGATIVE_SIDE = ("W_enc_neg", "b_gate_neg", "b_mag_neg", "r_mag_neg")


def _pair(**kwargs: object) -> tuple[SignAwareGatedTrainingSAE, ...]:
    base = {"d_in": 8, "d_sae": 16, "threshold_init_l0": None, **kwargs}
    torch.manual_seed(0)
    shared = SignAwareGatedTrainingSAE(training_cfg(**base, sign_encoders="shared"))
    torch.manual_seed(0)
    per_sign = SignAwareGatedTrainingSAE(training_cfg(**base, sign_encoders="per_sign"))
    return shared, per_sign


@pytest.mark.parametrize("fused", [True, False])
def test_a_fresh_per_sign_model_is_the_shared_model(fused: bool) -> None:
    shared, per_sign = _pair(fused_step=fused)
    torch.testing.assert_close(per_sign.W_enc_neg, -per_sign.W_enc)
    x = torch.randn(64, 8) * 3
    a = shared.training_forward_pass(step_input(x, 0.3))
    b = per_sign.training_forward_pass(step_input(x, 0.3))
    assert torch.equal(a.feature_acts, b.feature_acts)
    torch.testing.assert_close(a.loss, b.loss)
    a.loss.backward()
    b.loss.backward()
    # the shared column is both detectors: its gradient is the sum of theirs
    assert shared.W_enc.grad is not None and per_sign.W_enc.grad is not None
    assert per_sign.W_enc_neg.grad is not None
    torch.testing.assert_close(
        shared.W_enc.grad, per_sign.W_enc.grad - per_sign.W_enc_neg.grad
    )
    torch.testing.assert_close(shared.W_dec.grad, per_sign.W_dec.grad)


def test_both_sides_fire_on_one_token_as_two_jumprelu_latents() -> None:
    sae = SignAwareGatedSAE(
        SignAwareGatedSAEConfig(d_in=2, d_sae=1, sign_encoders="per_sign")
    )
    with torch.no_grad():
        for param in sae.parameters():
            param.zero_()
        sae.W_enc.copy_(torch.tensor([[1.0], [0.0]]))  # positive side reads x_0
        sae.W_enc_neg.copy_(torch.tensor([[0.0], [1.0]]))  # negative side reads x_1
        sae.W_dec.copy_(torch.tensor([[1.0, 1.0]]))
        sae.threshold_pos.fill_(0.5)
        sae.threshold_neg.fill_(0.5)
    x = torch.tensor([[2.0, 3.0], [2.0, 0.0], [0.0, 3.0], [0.2, 0.2]])
    f = sae.encode(x)
    assert f.squeeze(1).tolist() == [2.0 - 3.0, 2.0, -3.0, 0.0]
    sides = sae.side_acts(x)
    assert sides.tolist() == [[2.0, 3.0], [2.0, 0.0], [0.0, 3.0], [0.0, 0.0]]
    torch.testing.assert_close(sae.decode(f), f * torch.tensor([[1.0, 1.0]]))


def test_the_l0_counts_every_open_side() -> None:
    _, sae = _pair(target_l0=4.0)
    with torch.no_grad():
        sae.W_enc_neg.copy_(sae.W_enc)  # both sides read the same direction
    x = torch.randn(256, 8) * 3
    out = sae.training_forward_pass(step_input(x, 0.3))
    sides = sae.side_acts(x)
    pos, neg = (sides != 0).float().chunk(2, dim=-1)
    assert neg.sum() > 0 and (pos * neg).sum() > 0  # some tokens fire both
    torch.testing.assert_close(
        torch.as_tensor(float(out.metrics["l0_positive"]())), pos.sum(-1).mean()
    )
    torch.testing.assert_close(
        torch.as_tensor(float(out.metrics["l0_negative"]())), neg.sum(-1).mean()
    )


@pytest.mark.parametrize("tied", [True, False])
def test_data_init_gives_the_requested_l0_over_both_sides(tied: bool) -> None:
    torch.manual_seed(0)
    sae = SignAwareGatedTrainingSAE(
        training_cfg(
            d_sae=64, threshold_init_l0=8, tie_thresholds=tied, sign_encoders="per_sign"
        )
    )
    x = torch.randn(4096, 8)
    sae.training_forward_pass(step_input(x, 0.0, step=0))
    l0 = (sae.side_acts(x) != 0).float().sum(-1).mean().item()
    # only the gates are set; a side also needs a positive magnitude
    assert 2.0 <= l0 <= 8.5, (tied, l0)


def test_per_sign_is_the_training_default_and_one_sided_is_shared() -> None:
    assert training_cfg().sign_encoders == "per_sign"
    # a one-sided gate has one encoder, whatever the (default) field says
    assert training_cfg(two_sided=False).sign_encoders == "shared"
    assert training_cfg(two_sided=False, sign_encoders="per_sign").sign_encoders == (
        "shared"
    )
    sae = SignAwareGatedTrainingSAE(training_cfg(two_sided=False))
    assert not hasattr(sae, "W_enc_neg")
    assert sae.cfg.get_inference_sae_cfg_dict()["sign_encoders"] == "shared"
    with pytest.raises(ValueError, match="sign_encoders must be one of"):
        training_cfg(sign_encoders="both")
    with pytest.raises(ValueError, match="sign_encoders must be one of"):
        training_cfg(two_sided=False, sign_encoders="both")
    # the inference config (a cfg.json) must be consistent: it is not repaired
    with pytest.raises(ValueError, match="per_sign' is only used with two_sided"):
        SignAwareGatedSAEConfig(
            d_in=8, d_sae=16, two_sided=False, sign_encoders="per_sign"
        )


@pytest.mark.parametrize("tied", [True, False])
def test_save_and_load_keep_the_negative_side(tmp_path, tied: bool) -> None:
    training = SignAwareGatedTrainingSAE(
        training_cfg(tie_thresholds=tied, sign_encoders="per_sign")
    )
    randomize(training)
    training.eval()
    x = torch.randn(64, 8) * 2
    training.save_inference_model(tmp_path / "inference")
    training.save_model(tmp_path / "checkpoint")
    for folder in ("inference", "checkpoint"):
        loaded = SAE.load_from_disk(tmp_path / folder)
        assert isinstance(loaded, SignAwareGatedSAE) and loaded.per_sign
        assert torch.equal(loaded.encode(x), training.encode(x))
        assert torch.equal(loaded(x), training(x))
    resumed = SignAwareGatedTrainingSAE(
        training_cfg(tie_thresholds=tied, sign_encoders="per_sign")
    )
    resumed.load_weights_from_checkpoint(tmp_path / "checkpoint")
    assert torch.equal(resumed.eval()(x), training(x))


def test_a_missing_negative_side_is_named() -> None:
    sae = trained_like_sae(sign_encoders="per_sign")
    state = dict(sae.state_dict())
    del state["W_enc_neg"]
    with pytest.raises(StateDictError, match="missing tensor 'W_enc_neg'"):
        SignAwareGatedSAE(sae.cfg).process_state_dict_for_loading(state)
    shared = trained_like_sae()
    with pytest.raises(StateDictError, match="unexpected tensor 'b_mag_neg'"):
        shared.process_state_dict_for_loading(dict(sae.state_dict()))


def test_inference_equals_training_in_eval_mode() -> None:
    sae = trained_like_sae(sign_encoders="per_sign")
    training = copy_into_training(
        sae, training_cfg(tie_thresholds=False, sign_encoders="per_sign")
    ).eval()
    x = torch.randn(64, 8) * 2
    assert torch.equal(training.encode(x), sae.encode(x))


def test_folds_keep_the_outputs() -> None:
    sae = trained_like_sae(sign_encoders="per_sign")
    with torch.no_grad():
        sae.W_dec.mul_(torch.rand(16, 1) * 3 + 0.1)
    x = torch.randn(64, 8) * 2
    before = sae(x)
    sae.fold_W_dec_norm()
    torch.testing.assert_close(sae(x), before)
    scaled = sae(x * 4.0) / 4.0
    sae.fold_activation_norm_scaling_factor(4.0)
    torch.testing.assert_close(sae(x), scaled)


@pytest.mark.parametrize("apply_b_dec_to_input", [True, False])
def test_whitening_fold_keeps_the_outputs(apply_b_dec_to_input: bool) -> None:
    sae = trained_like_sae(sign_encoders="per_sign")
    sae.cfg.apply_b_dec_to_input = apply_b_dec_to_input
    mean = torch.randn(8)
    A = torch.randn(8, 8) + 3 * torch.eye(8)
    x = torch.randn(64, 8) * 2
    whitened = (x - mean) @ A
    expected_f = sae.encode(whitened)
    expected_out = sae.decode(expected_f) @ torch.linalg.inv(A) + mean
    sae.fold_activation_whitening(mean, A, torch.linalg.inv(A))
    torch.testing.assert_close(sae.encode(x), expected_f, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(sae(x), expected_out, rtol=1e-4, atol=1e-4)


def test_to_jumprelu_is_exact_for_per_sign() -> None:
    sae = trained_like_sae(d_in=16, d_sae=64, sign_encoders="per_sign")
    with torch.no_grad():
        sae.b_gate_neg.mul_(4)
        sae.b_mag_neg.mul_(4)
    jr = to_jumprelu(sae)
    assert isinstance(jr, JumpReLUSAE) and jr.cfg.d_sae == 128
    x = torch.randn(2048, 16) * 3
    with torch.no_grad():
        torch.testing.assert_close(jr.encode(x), sae.side_acts(x))
        torch.testing.assert_close(jr(x), sae(x), rtol=1e-5, atol=1e-4)  # sum order
    assert jr.cfg.metadata.source_sign_encoders == "per_sign"
