"""The fused training step (``saes/fused.py, glued in saes/fused_step.py``) against the reference path.

Tolerances, per tensor (the forward, every loss, every parameter gradient):
float32, max |fast - reference| <= 1e-5 max |reference|; bfloat16 autocast,
||fast - reference|| <= 3e-2 ||reference||. In bfloat16 the two are a rounding
apart by design: the fast path derives ``pi_mag`` from the bfloat16 product
``x~ @ W_enc``, the reference from ``x~ @ (W_enc exp(r_mag))``, and the fast
path's sparse products accumulate in float32 where the reference's matmuls
round to bfloat16; a few ``pi_mag`` near 0 then change sign, which moves a
summed gradient such as ``b_mag``'s by a few percent at its largest entry.
The gates themselves (``pi_gate``, hence ``g_pos``, ``g_neg``, ``s``) are bit
for bit in both precisions.
"""

import itertools
from typing import Any

import pytest
import torch

from sae_lens_signaware import SignAwareGatedTrainingSAE
from sae_lens_signaware.saes.fused import SignAwareStep, StepSpec
from sae_lens_signaware.saes.sparse_decode import Pattern, sddmm, spmm, spmm_t
from tests.helpers import randomize, step_input, training_cfg

D_IN, D_SAE, BATCH = 16, 64, 96
TOL = {"float32": 1e-5, "bf16-autocast": 3e-2}


def _pair(**kwargs: Any) -> tuple[SignAwareGatedTrainingSAE, SignAwareGatedTrainingSAE]:
    base = {"d_in": D_IN, "d_sae": D_SAE, "threshold_init_l0": None, "bandwidth": 0.5}
    kwargs.setdefault("sign_encoders", "shared")  # the shared step's tests
    ref_kwargs = {k: v for k, v in kwargs.items() if k != "sparse_max_density"}
    ref = SignAwareGatedTrainingSAE(
        training_cfg(**base, **ref_kwargs, fused_step=False)
    )
    randomize(ref)
    with (
        torch.no_grad()
    ):  # thresholds inside the range of pi_gate, so gates open and close
        for name, param in ref.named_parameters():
            if "threshold" in name:
                param.mul_(2.0)
    fast = SignAwareGatedTrainingSAE(training_cfg(**base, **kwargs))
    fast.load_state_dict(ref.state_dict())
    return ref, fast


def _step(sae: SignAwareGatedTrainingSAE, x: torch.Tensor, precision: str) -> Any:
    mode = sae.cfg.sparsity
    ctx: Any = (
        torch.autocast("cpu", dtype=torch.bfloat16)
        if precision == "bf16-autocast"
        else torch.autocast("cpu", enabled=False)
    )
    with ctx:
        out = sae.training_forward_pass(step_input(x, 0.7, mode))
    out.loss.backward()
    grads = {n: p.grad for n, p in sae.named_parameters()}
    return out, grads


def _close(actual: torch.Tensor, expected: torch.Tensor, tol: float, what: str) -> None:
    diff = actual.float() - expected.float()
    if tol == TOL["float32"]:
        err, scale = diff.abs().max(), expected.float().abs().max()
    else:
        err, scale = diff.norm(), expected.float().norm()
    assert err <= tol * scale.clamp(min=1e-6), f"{what}: {err:.3g} vs {scale:.3g}"


def _compare(ref: Any, fast: Any, precision: str) -> None:
    tol = TOL[precision]
    (out_r, grads_r), (out_f, grads_f) = ref, fast
    _close(out_f.feature_acts, out_r.feature_acts, tol, "feature_acts")
    _close(out_f.sae_out, out_r.sae_out, tol, "sae_out")
    assert out_f.losses.keys() == out_r.losses.keys()
    for name, value in out_r.losses.items():
        _close(out_f.losses[name], value, tol, name)
    _close(out_f.loss, out_r.loss, tol, "loss")
    for name, grad in grads_r.items():
        if grad is None or not grad.any():
            fast_grad = grads_f[name]
            assert fast_grad is None or not fast_grad.any(), name
            continue
        _close(grads_f[name], grad, tol, f"grad {name}")


# two_sided, tied, sparsity, ste_to_input, aux_detach_decoder, apply_b_dec_to_input
OPTIONS = [
    (two_sided, tied, sparsity, ste)
    for two_sided, tied, sparsity, ste in itertools.product(
        [True, False], [True, False], ["l0", "l1"], [True, False]
    )
    if two_sided or tied  # one-sided has one threshold: untied is refused
]
PER_SIGN_OPTIONS = list(itertools.product([True, False], ["l0", "l1"], [True, False]))


@pytest.mark.parametrize("precision", ["float32", "bf16-autocast"])
@pytest.mark.parametrize("max_density", [1.0, 0.0], ids=["sparse", "dense"])
@pytest.mark.parametrize(("two_sided", "tied", "sparsity", "ste"), OPTIONS)
def test_fused_step_matches_reference(
    precision: str,
    max_density: float,
    two_sided: bool,
    tied: bool,
    sparsity: str,
    ste: bool,
) -> None:
    torch.manual_seed(0)
    x = torch.randn(BATCH, D_IN) * 2
    # the two remaining switches alternate so both values meet every other option
    detach = (two_sided + tied + ste) % 2 == 0
    b_dec_in = (tied + (sparsity == "l1")) % 2 == 0
    ref, fast = _pair(
        two_sided=two_sided,
        tie_thresholds=tied,
        sparsity=sparsity,
        ste_to_input=ste,
        aux_detach_decoder=detach,
        apply_b_dec_to_input=b_dec_in,
        unit_norm_encoder=False,
        sparse_max_density=max_density,
    )
    _compare(_step(ref, x, precision), _step(fast, x, precision), precision)


@pytest.mark.parametrize("precision", ["float32", "bf16-autocast"])
@pytest.mark.parametrize("max_density", [1.0, 0.0], ids=["sparse", "dense"])
@pytest.mark.parametrize(("tied", "sparsity", "ste"), PER_SIGN_OPTIONS)
def test_per_sign_fused_step_matches_reference(
    precision: str, max_density: float, tied: bool, sparsity: str, ste: bool
) -> None:
    """Per-sign trains as a one-sided step over both sides with decoder rows
    ``[W_dec; -W_dec]``; the reference path runs the per-sign formulas."""
    torch.manual_seed(0)
    x = torch.randn(BATCH, D_IN) * 2
    ref, fast = _pair(
        sign_encoders="per_sign",
        tie_thresholds=tied,
        sparsity=sparsity,
        ste_to_input=ste,
        aux_detach_decoder=(tied + ste) % 2 == 0,
        apply_b_dec_to_input=(sparsity == "l1"),
        unit_norm_encoder=False,
        sparse_max_density=max_density,
    )
    with torch.no_grad():  # the negative detector: not just the shared one turned
        fast.W_enc_neg.copy_(torch.randn_like(fast.W_enc_neg))
        ref.W_enc_neg.copy_(fast.W_enc_neg)
    _compare(_step(ref, x, precision), _step(fast, x, precision), precision)


@pytest.mark.parametrize("detach", [True, False])
@pytest.mark.parametrize("b_dec_in", [True, False])
def test_decoder_options_match_reference(detach: bool, b_dec_in: bool) -> None:
    x = torch.randn(BATCH, D_IN) * 2
    for max_density in (0.0, 1.0):
        ref, fast = _pair(
            aux_detach_decoder=detach,
            apply_b_dec_to_input=b_dec_in,
            sparse_max_density=max_density,
        )
        _compare(_step(ref, x, "float32"), _step(fast, x, "float32"), "float32")


def test_frozen_thresholds_get_no_gradient_on_either_path() -> None:
    x = torch.randn(BATCH, D_IN) * 2
    ref, fast = _pair(learn_thresholds=False)
    out_r, grads_r = _step(ref, x, "float32")
    out_f, grads_f = _step(fast, x, "float32")
    for name in ("threshold_pos", "threshold_neg"):
        assert grads_r.get(name) is None and grads_f.get(name) is None
    _compare((out_r, grads_r), (out_f, grads_f), "float32")


@pytest.mark.parametrize("max_density", [1.0, 0.0], ids=["sparse", "dense"])
@pytest.mark.parametrize(
    ("two_sided", "sparsity"), [(True, "l0"), (False, "l1"), (True, "l1")]
)
def test_smooth_gradients_match_finite_differences(
    max_density: float, two_sided: bool, sparsity: str
) -> None:
    """Away from the gate edges the step is smooth in everything but the thresholds:
    gradcheck (float64) the closed-form backward there (no estimator)."""
    torch.manual_seed(1)
    n, d, h = 12, 5, 9
    spec = StepSpec(
        two_sided=two_sided,
        sparsity=sparsity,
        bandwidth=0.3,
        ste_to_input=False,
        learn_thresholds=False,
        max_density=max_density,
    )
    f64: dict[str, Any] = {"dtype": torch.float64}
    inputs = (
        torch.randn(n, d, **f64),
        torch.randn(d, h, **f64),
        torch.randn(h, **f64) * 0.1,
        torch.randn(h, **f64) * 0.1,
        torch.rand(h, **f64) + 0.5,
        torch.rand(h, **f64) * 0.5,
        torch.rand(h, **f64) * 0.5,
        torch.randn(h, d, **f64),
        torch.randn(h, d, **f64),
        torch.rand(h, **f64) + 0.5,
    )
    grad_of = {0, 1, 2, 3, 4, 7, 8, 9}
    args = [t.requires_grad_(i in grad_of) for i, t in enumerate(inputs)]

    def losses(*a: torch.Tensor) -> tuple[torch.Tensor, ...]:
        f, recon, recon_aux, pen, _ = SignAwareStep.apply(*a, spec)
        return f, recon, recon_aux, pen

    assert torch.autograd.gradcheck(losses, tuple(args), eps=1e-6, atol=1e-5)


def test_straight_through_gradients_match_the_estimator() -> None:
    """The threshold gradient of the fused L0 penalty is SAELens's Step estimator."""
    torch.manual_seed(2)
    ref, fast = _pair(sparsity="l0", aux_coefficient=0.0, ste_to_input=False)
    with torch.no_grad():
        fast.W_dec.zero_()  # only the penalty reaches the thresholds
        ref.W_dec.zero_()
    x = torch.randn(BATCH, D_IN) * 2
    _compare(_step(ref, x, "float32"), _step(fast, x, "float32"), "float32")
    pi_gate = fast.gate_and_magnitude(fast.process_sae_in(x))[0].detach()
    theta = fast.threshold_pos.detach()
    u_pos = (pi_gate - theta) / 0.5
    u_neg = (-pi_gate - theta) / 0.5
    kernel = lambda u: ((u > -0.5) & (u < 0.5)).float() / 0.5  # noqa: E731
    expected = -0.7 * (kernel(u_pos) + kernel(u_neg)).mean(0)
    assert fast.threshold_pos.grad is not None
    assert "threshold_neg" not in dict(fast.named_parameters())  # tied: one
    torch.testing.assert_close(fast.threshold_pos.grad, expected, rtol=1e-5, atol=1e-6)


def test_sparse_products_match_dense() -> None:
    torch.manual_seed(3)
    mask = torch.rand(7, 11) < 0.3
    values = torch.randn(7, 11) * mask
    pattern = Pattern.from_flat(mask.view(-1).nonzero().squeeze(1), 7, 11)
    v = values.view(-1)[pattern.flat]
    right, left, grad = torch.randn(11, 4), torch.randn(7, 4), torch.randn(7, 4)
    torch.testing.assert_close(spmm(pattern, v, right), values @ right)
    torch.testing.assert_close(spmm_t(pattern, v, grad), values.t() @ grad)
    torch.testing.assert_close(sddmm(pattern, left, right), (left @ right.t())[mask])


def test_encode_in_train_mode_keeps_no_graph_on_the_module() -> None:
    sae = SignAwareGatedTrainingSAE(training_cfg())
    randomize(sae)
    sae.train()
    f = sae.encode(torch.randn(8, 8))
    assert f.grad_fn is not None
    for value in vars(sae).values():
        assert not (isinstance(value, torch.Tensor) and value.grad_fn is not None)


def test_thresholds_and_controller_stay_float32_in_bfloat16() -> None:
    sae = SignAwareGatedTrainingSAE(
        training_cfg(dtype="bfloat16", tie_thresholds=False, target_l0=4.0)
    )
    assert sae.W_enc.dtype == torch.bfloat16
    assert sae.threshold_pos.dtype == sae.threshold_neg.dtype == torch.float32
    sae = sae.to(torch.bfloat16)
    assert sae.threshold_pos.dtype == torch.float32
    assert sae.l0_controller.dtype == torch.float32
    x = torch.randn(32, 8)
    for fused in (True, False):
        sae.cfg.fused_step = fused
        out = sae.training_forward_pass(step_input(x, 0.3, step=2))
        out.loss.backward()
        assert sae.threshold_pos.grad is not None
        assert sae.threshold_pos.grad.dtype == torch.float32
        assert torch.isfinite(out.loss)


def test_autocast_step_keeps_float32_thresholds_and_runs_adam() -> None:
    sae = SignAwareGatedTrainingSAE(training_cfg(d_sae=64))
    optimizer = torch.optim.Adam(sae.parameters(), lr=1e-3)
    x = torch.randn(64, 8)
    for step in range(3):
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out = sae.training_forward_pass(step_input(x, 0.3, step=step))
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(sae.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad()
        assert torch.isfinite(out.loss)
    assert sae.threshold_pos.dtype == torch.float32
    assert {"l0_positive", "l0_negative", "threshold_mean"} <= out.metrics.keys()


@pytest.mark.parametrize("tied", [True, False])
@pytest.mark.parametrize("max_density", [1.0, 0.0], ids=["sparse", "dense"])
def test_l0_penalty_counts_open_gates_of_both_sides(
    tied: bool, max_density: float
) -> None:
    torch.manual_seed(1)
    x = torch.randn(BATCH, D_IN) * 2
    ref, fast = _pair(
        tie_thresholds=tied, unit_norm_encoder=False, sparse_max_density=max_density
    )
    out_r, grads_r = _step(ref, x, "float32")
    _compare((out_r, grads_r), _step(fast, x, "float32"), "float32")
    with torch.no_grad():
        pi_gate = ref.gate_and_magnitude(ref.process_sae_in(x))[0]
        theta_pos, theta_neg = ref.thresholds()
        n_pos = (pi_gate > theta_pos).sum(-1)
        n_neg = (pi_gate < -theta_neg).sum(-1)
    assert n_neg.sum() > 0 and n_pos.sum() > 0
    expected = (n_pos + n_neg).float().mean()
    coefficient = 0.7  # _step's
    torch.testing.assert_close(out_r.losses["l0_loss"] / coefficient, expected)
