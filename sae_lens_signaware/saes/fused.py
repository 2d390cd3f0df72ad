"""The SA-GSAE training step as one autograd function (the fast path).

With ``pre = x~ @ W_enc`` (the only encoder matmul), for each latent ``i``::

    pi_gate = pre + b_gate          pi_mag = pre * exp(r_mag) + b_mag
    g_pos   = [pi_gate > theta_pos] g_neg  = [pi_gate < -theta_neg]   (g_neg = 0 one-sided)
    f       = pi_mag on (g_pos & pi_mag > 0) | (g_neg & pi_mag < 0), else 0
    s       = (pi_gate - theta_pos) g_pos + (pi_gate + theta_neg) g_neg
    pen     = sum_i (g_pos + g_neg)  ("l0")  or  sum_i ||W_dec[i]|| |s_i|  ("l1")

and the function returns ``f``, ``f @ W_dec``, ``s @ W_dec_aux`` and ``pen``: the
formulas of ``saes/bi_jump_relu.py``, computed once. Its backward is theirs in
closed form. With upstream gradients ``F = dL/df``, ``S = dL/ds``, ``p = dL/dpen``,
the rectangle kernel ``K_pos = [|pi_gate - theta_pos| < eps/2] / eps`` (``K_neg``
on ``-pi_gate - theta_neg``) and ``q = p`` for "l0", 0 for "l1"::

    d pi_mag  = F [f != 0 support]
    ste_pos   = K_pos (F relu(pi_mag) + q)       ste_neg = K_neg (-F relu(-pi_mag) + q)
    d pi_gate = (S + p ||W_dec[i]|| sign(s)) (g_pos + g_neg) + (ste_pos - ste_neg)  [ste_to_input]
    d theta_pos = sum_b -ste_pos - (S + p ||W_dec[i]||) g_pos
    d theta_neg = sum_b -ste_neg + (S - p ||W_dec[i]||) g_neg
    d pre     = d pi_gate + exp(r_mag) d pi_mag

Every one of these is zero outside the candidate set ``P`` = gates open or
``pi_gate`` within a kernel width of a threshold. Above ``max_density`` (the
share of ``P`` in ``[B, H]``) the function runs dense and saves only ``pre``;
at or below it, it saves ``pre`` on ``P`` (and ``P``) and every product with
``W_enc`` and ``W_dec`` after the first matmul is sparse (``sparse_decode.py``):
the decode, the sampled ``F = (dL/dx_hat) W_dec^T`` on ``P``, ``dW_dec = f^T dL/dx_hat``
and the encoder's ``d x~ = d pre W_enc^T``, ``dW_enc = x~^T d pre``.
"""

from typing import Any, NamedTuple

import torch

from sae_lens_signaware.saes.sparse_decode import Pattern, sddmm, spmm, spmm_t
from sae_lens_signaware.saes.step_types import StepSpec


class _Latent(NamedTuple):
    """Per-latent vectors, broadcast ([H]) or gathered on ``P`` ([|P|])."""

    b_gate: torch.Tensor
    b_mag: torch.Tensor
    scale: torch.Tensor
    theta_pos: torch.Tensor
    theta_neg: torch.Tensor
    w_norm: torch.Tensor | None

    def take(self, cols: torch.Tensor) -> "_Latent":
        w_norm = None if self.w_norm is None else self.w_norm[cols]
        b_gate, b_mag, scale, theta_pos, theta_neg = (v[cols] for v in self[:5])
        return _Latent(b_gate, b_mag, scale, theta_pos, theta_neg, w_norm)


class _Gates(NamedTuple):
    pi_gate: torch.Tensor
    pi_mag: torch.Tensor
    g_pos: torch.Tensor
    g_neg: torch.Tensor | None
    f: torch.Tensor
    s: torch.Tensor


def gate_values(pre: torch.Tensor, lat: _Latent, two_sided: bool) -> _Gates:
    """The forward formulas, elementwise (bit for bit the reference's gates and ``s``)."""
    pi_gate = pre + lat.b_gate
    pi_mag = pre * lat.scale + lat.b_mag
    theta_pos = lat.theta_pos.to(pi_gate.dtype)
    g_pos = pi_gate > theta_pos
    zero = pi_gate.new_zeros(())
    if not two_sided:
        f = torch.where(g_pos & (pi_mag > 0), pi_mag, zero)
        s = torch.where(g_pos, pi_gate - theta_pos, zero)
        return _Gates(pi_gate, pi_mag, g_pos, None, f, s)
    theta_neg = lat.theta_neg.to(pi_gate.dtype)
    g_neg = pi_gate < -theta_neg
    f = torch.where((g_pos & (pi_mag > 0)) | (g_neg & (pi_mag < 0)), pi_mag, zero)
    s = torch.where(g_pos, pi_gate - theta_pos, zero)
    s = torch.where(g_neg, pi_gate + theta_neg, s)
    return _Gates(pi_gate, pi_mag, g_pos, g_neg, f, s)


def _penalty_terms(gates: _Gates, lat: _Latent, spec: "StepSpec") -> torch.Tensor:
    if spec.sparsity == "l1":
        assert lat.w_norm is not None
        return gates.s.abs() * lat.w_norm.to(gates.s.dtype)
    dtype = gates.pi_gate.dtype
    if gates.g_neg is None:
        return gates.g_pos.to(dtype)
    return (gates.g_pos | gates.g_neg).to(dtype)  # the gates are disjoint


class _Grads(NamedTuple):
    pre: torch.Tensor
    pi_gate: torch.Tensor
    pi_mag: torch.Tensor
    theta_pos: torch.Tensor | None
    theta_neg: torch.Tensor | None
    w_norm: torch.Tensor | None


def gate_grads(
    gates: _Gates,
    lat: _Latent,
    grad_f: torch.Tensor | None,
    grad_s: torch.Tensor | None,
    grad_pen: torch.Tensor | None,
    spec: StepSpec,
) -> _Grads:
    """The backward formulas of the module docstring, elementwise."""
    pi_gate, pi_mag, g_pos, g_neg = (
        gates.pi_gate,
        gates.pi_mag,
        gates.g_pos,
        gates.g_neg,
    )
    dtype = pi_gate.dtype
    zero = pi_gate.new_zeros(())
    d_gate = torch.zeros_like(pi_gate)
    d_tp: torch.Tensor = torch.zeros_like(pi_gate)
    d_tn: torch.Tensor = torch.zeros_like(pi_gate)
    pos = g_pos.to(dtype)
    neg = None if g_neg is None else g_neg.to(dtype)
    if grad_f is not None:
        grad_f = grad_f.to(dtype)
        d_mag = torch.where(gates.f != 0, grad_f, zero)
    else:
        d_mag = torch.zeros_like(pi_mag)
    if grad_s is not None:
        grad_s = grad_s.to(dtype)
        d_gate = d_gate + grad_s * (pos if neg is None else pos + neg)
        d_tp = d_tp - grad_s * pos
        if neg is not None:
            d_tn = d_tn + grad_s * neg
    d_w = None
    if grad_pen is not None:
        grad_pen = grad_pen.to(dtype)
        if spec.sparsity == "l1":
            assert lat.w_norm is not None
            g_l1 = grad_pen * lat.w_norm.to(dtype)
            d_gate = d_gate + g_l1 * (pos if neg is None else pos - neg)
            d_tp = d_tp - g_l1 * pos
            if neg is not None:
                d_tn = d_tn - g_l1 * neg
            d_w = grad_pen * gates.s.abs()
    if spec.needs_window:
        q = grad_pen if spec.sparsity == "l0" else None
        inv = 1.0 / spec.bandwidth
        to_pos = _add(None if grad_f is None else grad_f * pi_mag.clamp(min=0), q)
        ste_pos = _ste(pi_gate, lat.theta_pos, spec.bandwidth, inv, to_pos)
        if ste_pos is not None:
            d_tp = d_tp - ste_pos
            if spec.ste_to_input:
                d_gate = d_gate + ste_pos
        if neg is not None:
            to_neg = _add(
                None if grad_f is None else -(grad_f * (-pi_mag).clamp(min=0)), q
            )
            ste_neg = _ste(-pi_gate, lat.theta_neg, spec.bandwidth, inv, to_neg)
            if ste_neg is not None:
                d_tn = d_tn - ste_neg
                if spec.ste_to_input:
                    d_gate = d_gate - ste_neg
    d_pre = d_gate + d_mag * lat.scale.to(dtype)
    learn = spec.learn_thresholds
    return _Grads(
        pre=d_pre,
        pi_gate=d_gate,
        pi_mag=d_mag,
        theta_pos=d_tp if learn else None,
        theta_neg=d_tn if learn and neg is not None else None,
        w_norm=d_w,
    )


def _add(a: torch.Tensor | None, b: torch.Tensor | None) -> torch.Tensor | None:
    if a is None:
        return b
    return a if b is None else a + b


def _ste(
    x: torch.Tensor,
    theta: torch.Tensor,
    bandwidth: float,
    inv: float,
    grad: torch.Tensor | None,
) -> torch.Tensor | None:
    """SAELens's ``Step`` estimator: ``(1/eps) K((x - theta)/eps) grad``."""
    if grad is None:
        return None
    u = (x - theta.to(x.dtype)) / bandwidth
    return inv * ((u > -0.5) & (u < 0.5)).to(x.dtype) * grad


def candidates(pi_gate: torch.Tensor, lat: _Latent, spec: StepSpec) -> torch.Tensor:
    """A superset of ``P``: open gates, and kernel windows when the estimator is used
    (widened by 2^-6 relative so rounding in the compute dtype cannot drop a position)."""
    reach = 0.5 * spec.bandwidth if spec.needs_window else 0.0

    def edge(theta: torch.Tensor) -> torch.Tensor:
        theta = theta.float()
        margin = (theta.abs() + reach) * 2**-6 if reach else 0.0
        return (theta - reach - margin).to(pi_gate.dtype)

    above = pi_gate > edge(lat.theta_pos)
    if not spec.two_sided:
        return above
    return above | (pi_gate < -edge(lat.theta_neg))


def _sum_by_latent(
    values: torch.Tensor | None, pattern: Pattern | None, n_latents: int
) -> torch.Tensor | None:
    if values is None:
        return None
    if pattern is None:
        return values.sum(0)
    out = values.new_zeros(n_latents)
    return out.index_add_(0, pattern.cols, values)


class SignAwareStep(torch.autograd.Function):
    """``(f, f @ W_dec, s @ W_dec_aux, pen, pi_mag)`` from ``x~`` in one node.

    Inputs are cast to the compute dtype by the caller (autocast is off inside);
    the per-latent vectors and thresholds keep theirs (thresholds float32).
    ``pi_mag`` is returned without a gradient (the TrainStepOutput's ``hidden_pre``).
    """

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any,
        x: torch.Tensor,
        W_enc: torch.Tensor,
        b_gate: torch.Tensor,
        b_mag: torch.Tensor,
        scale: torch.Tensor,
        theta_pos: torch.Tensor,
        theta_neg: torch.Tensor,
        W_dec: torch.Tensor,
        W_dec_aux: torch.Tensor,
        w_norm: torch.Tensor | None,
        spec: StepSpec,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        ctx.set_materialize_grads(False)
        ctx.spec = spec
        ctx.device_type = x.device.type
        lat = _Latent(b_gate, b_mag, scale, theta_pos, theta_neg, w_norm)
        batch, n_latents = x.shape[0], W_enc.shape[1]
        pre = x @ W_enc
        cand = candidates(pre + b_gate, lat, spec)
        n_cand = int(torch.count_nonzero(cand))
        sparse = n_cand <= spec.max_density * batch * n_latents
        ctx.sparse = sparse
        if not sparse:
            del cand
            gates = gate_values(pre, lat, spec.two_sided)
            pen = _penalty_terms(gates, lat, spec).sum(-1)
            recon = gates.f.to(x.dtype) @ W_dec
            recon_aux = gates.s.to(x.dtype) @ W_dec_aux
            ctx.save_for_backward(x, W_enc, pre, W_dec, W_dec_aux, *lat)
            ctx.mark_non_differentiable(gates.pi_mag)
            return gates.f, recon, recon_aux, pen, gates.pi_mag
        flat = cand.view(-1).nonzero().squeeze(1)
        del cand
        pattern = Pattern.from_flat(flat, batch, n_latents)
        pre_p = pre.view(-1)[flat]
        gates = gate_values(pre_p, lat.take(pattern.cols), spec.two_sided)
        terms = _penalty_terms(gates, lat.take(pattern.cols), spec)
        pen = terms.new_zeros(batch).index_add_(0, pattern.rows, terms)
        recon = spmm(pattern, gates.f, W_dec).to(x.dtype)
        recon_aux = spmm(pattern, gates.s, W_dec_aux).to(x.dtype)
        f = gates.f.new_zeros(batch, n_latents)
        f.view(-1)[flat] = gates.f
        pi_mag = pre.mul_(scale).add_(b_mag)  # pre is not needed any more
        ctx.save_for_backward(x, W_enc, pre_p, W_dec, W_dec_aux, *lat, *pattern)
        ctx.mark_non_differentiable(pi_mag)
        return f, recon, recon_aux, pen, pi_mag

    @staticmethod
    def backward(  # type: ignore[override]
        ctx: Any,
        grad_f: torch.Tensor | None,
        grad_recon: torch.Tensor | None,
        grad_aux: torch.Tensor | None,
        grad_pen: torch.Tensor | None,
        _grad_pi_mag: torch.Tensor | None,
    ) -> tuple[torch.Tensor | None, ...]:
        spec: StepSpec = ctx.spec
        with torch.autocast(ctx.device_type, enabled=False):
            if ctx.sparse:
                return _sparse_backward(ctx, grad_f, grad_recon, grad_aux, grad_pen)
            return _dense_backward(ctx, grad_f, grad_recon, grad_aux, grad_pen, spec)


def _dense_backward(
    ctx: Any,
    grad_f: torch.Tensor | None,
    grad_recon: torch.Tensor | None,
    grad_aux: torch.Tensor | None,
    grad_pen: torch.Tensor | None,
    spec: StepSpec,
) -> tuple[torch.Tensor | None, ...]:
    x, W_enc, pre, W_dec, W_dec_aux, *rest = ctx.saved_tensors
    lat = _Latent(*rest)
    need = ctx.needs_input_grad
    gates = gate_values(pre, lat, spec.two_sided)
    upstream_f = _add(grad_f, None if grad_recon is None else grad_recon @ W_dec.t())
    upstream_s = None if grad_aux is None else grad_aux @ W_dec_aux.t()
    pen = None if grad_pen is None else grad_pen[:, None]
    grads = gate_grads(gates, lat, upstream_f, upstream_s, pen, spec)
    d_pre = grads.pre.to(x.dtype)
    d_x = d_pre @ W_enc.t() if need[0] else None
    d_W_enc = x.t() @ d_pre if need[1] else None
    d_W_dec = None
    if need[7] and grad_recon is not None:
        d_W_dec = gates.f.to(x.dtype).t() @ grad_recon
    d_W_dec_aux = None
    if need[8] and grad_aux is not None:
        d_W_dec_aux = gates.s.to(x.dtype).t() @ grad_aux
    n = W_enc.shape[1]
    return _finish(
        ctx, lat, grads, gates, pre, None, n, d_x, d_W_enc, d_W_dec, d_W_dec_aux
    )


def _sparse_backward(
    ctx: Any,
    grad_f: torch.Tensor | None,
    grad_recon: torch.Tensor | None,
    grad_aux: torch.Tensor | None,
    grad_pen: torch.Tensor | None,
) -> tuple[torch.Tensor | None, ...]:
    spec: StepSpec = ctx.spec
    x, W_enc, pre_p, W_dec, W_dec_aux, *rest = ctx.saved_tensors
    lat_full = _Latent(*rest[:6])
    need = ctx.needs_input_grad
    n_latents = W_enc.shape[1]
    pattern = Pattern(*rest[6:])
    flat = pattern.flat
    lat = lat_full.take(pattern.cols)
    gates = gate_values(pre_p, lat, spec.two_sided)
    upstream_f = None if grad_f is None else grad_f.reshape(-1)[flat]
    if grad_recon is not None:
        upstream_f = _add(upstream_f, sddmm(pattern, grad_recon, W_dec))
    upstream_s = None if grad_aux is None else sddmm(pattern, grad_aux, W_dec_aux)
    pen = None if grad_pen is None else grad_pen[pattern.rows]
    grads = gate_grads(gates, lat, upstream_f, upstream_s, pen, spec)
    d_x = spmm(pattern, grads.pre, W_enc.t()).to(x.dtype) if need[0] else None
    d_W_enc = None
    if need[1]:
        d_W_enc = spmm_t(pattern, grads.pre, x).t().to(W_enc.dtype)
    d_W_dec = None
    if need[7] and grad_recon is not None:
        d_W_dec = spmm_t(pattern, gates.f, grad_recon).to(W_dec.dtype)
    d_W_dec_aux = None
    if need[8] and grad_aux is not None:
        d_W_dec_aux = spmm_t(pattern, gates.s, grad_aux).to(W_dec_aux.dtype)
    return _finish(
        ctx,
        lat_full,
        grads,
        gates,
        pre_p,
        pattern,
        n_latents,
        d_x,
        d_W_enc,
        d_W_dec,
        d_W_dec_aux,
    )


def _finish(
    ctx: Any,
    lat: _Latent,
    grads: _Grads,
    gates: _Gates,
    pre: torch.Tensor,
    pattern: Pattern | None,
    n_latents: int,
    d_x: torch.Tensor | None,
    d_W_enc: torch.Tensor | None,
    d_W_dec: torch.Tensor | None,
    d_W_dec_aux: torch.Tensor | None,
) -> tuple[torch.Tensor | None, ...]:
    """Per-latent sums, cast to each input's dtype, in the forward's input order."""
    del gates
    need = ctx.needs_input_grad

    def per_latent(
        values: torch.Tensor | None, index: int, like: torch.Tensor | None
    ) -> torch.Tensor | None:
        if not need[index] or like is None:
            return None
        total = _sum_by_latent(values, pattern, n_latents)
        return None if total is None else total.to(like.dtype)

    return (
        d_x,
        d_W_enc,
        per_latent(grads.pi_gate, 2, lat.b_gate),
        per_latent(grads.pi_mag, 3, lat.b_mag),
        per_latent(grads.pi_mag * pre, 4, lat.scale),
        per_latent(grads.theta_pos, 5, lat.theta_pos),
        per_latent(grads.theta_neg, 6, lat.theta_neg),
        d_W_dec,
        d_W_dec_aux,
        per_latent(grads.w_norm, 9, lat.w_norm),
        None,
    )
