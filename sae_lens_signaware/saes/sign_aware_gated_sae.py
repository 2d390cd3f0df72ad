"""Sign-Aware Gated SAE (SA-GSAE, arXiv 2605.28149) for SAELens.

One latent fires with either sign along one decoder direction. With
``x~ = x - b_dec`` (when ``apply_b_dec_to_input``)::

    pi_gate = x~ @ W_enc + b_gate                      signed gate pre-activation
    pi_mag  = x~ @ (W_enc * exp(r_mag)) + b_mag        signed magnitude (shares W_enc)
    f       = H(pi_gate - theta_pos) relu(pi_mag) - H(-pi_gate - theta_neg) relu(-pi_mag)
    x_hat   = f @ W_dec + b_dec

With ``two_sided=False`` the negative side is switched off and, at zero
thresholds, the model is SAELens's Gated SAE. With ``sign_encoders="per_sign"``
the negative side has its own detector (``W_enc_neg``, ``b_gate_neg``,
``b_mag_neg``, ``r_mag_neg``), a positive detector of the negative side::

    pi_neg = x~ @ W_enc_neg + b_gate_neg     m_neg = x~ @ (W_enc_neg * exp(r_mag_neg)) + b_mag_neg
    f      = H(pi_gate - theta_pos) relu(pi_mag) - H(pi_neg - theta_neg) relu(m_neg)

and both sides may fire on one token: the model is exactly two JumpReLU-style
latents with antipodal decoder rows, which is how it trains (a one-sided step
over ``2 d_sae`` sides with decoder rows ``[W_dec; -W_dec]``).
``SignAwareGatedTrainingSAE``
trains it with

    L = ||x - x_hat||^2 + c * penalty + aux_coefficient ||x - (s @ W_dec + b_dec)||^2

(``s``: the soft gate, ``penalty``: ``sum_i (g_pos + g_neg)`` or the "l1"
penalty); its step runs through ``saes/fused_step.py`` (one autograd node) or,
with ``fused_step=False``, SAELens's own step with the readable ops of
``saes/bi_jump_relu.py`` and ``saes/reference_step.py``.
"""

from dataclasses import replace
from pathlib import Path
from typing import Any, Generic, TypeVar

import torch
from numpy.typing import NDArray
from sae_lens.saes.sae import (
    SAE,
    TrainCoefficientConfig,
    TrainingSAE,
    TrainStepInput,
    TrainStepOutput,
)
from torch import nn
from typing_extensions import override

from sae_lens_signaware.distributed import gather_rows
from sae_lens_signaware.errors import NonFiniteTrainingError, StateDictError
from sae_lens_signaware.saes import fused_step, reference_step
from sae_lens_signaware.saes.bi_jump_relu import (
    bi_jump_relu,
    one_sided_gate,
    two_sided_gates,
)
from sae_lens_signaware.saes.config import (
    ARCHITECTURE,
    SignAwareGatedSAEConfig,
    SignAwareGatedTrainingSAEConfig,
)
from sae_lens_signaware.saes.l0_controller import observe_l0, scale_coefficients
from sae_lens_signaware.saes.state_dict import (
    CONTROLLER,
    THRESHOLDS,
    check_finite_for_saving,
    upgrade_state_dict,
    validate_state_dict,
)
from sae_lens_signaware.saes.step_types import StepSpec, StepTensors, StepTerms

__all__ = [
    "ARCHITECTURE",
    "SignAwareGatedSAE",
    "SignAwareGatedSAEConfig",
    "SignAwareGatedTrainingSAE",
    "SignAwareGatedTrainingSAEConfig",
]

C = TypeVar("C", SignAwareGatedSAEConfig, SignAwareGatedTrainingSAEConfig)


class SignAwareGatedBase(SAE[C], Generic[C]):
    """What the inference and the training SA-GSAE share: the parameters, the
    Bi-Jump-ReLU encoder, the folds and the state-dict format."""

    b_gate: nn.Parameter
    b_mag: nn.Parameter
    r_mag: nn.Parameter
    threshold_pos: nn.Parameter
    threshold_neg: nn.Parameter
    # sign_encoders="per_sign" only
    W_enc_neg: nn.Parameter
    b_gate_neg: nn.Parameter
    b_mag_neg: nn.Parameter
    r_mag_neg: nn.Parameter

    def __init__(self, cfg: C, use_error_term: bool = False):
        super().__init__(cfg, use_error_term)
        self.b_enc = None

    @property
    def per_sign(self) -> bool:
        """The negative side has its own encoder (``sign_encoders="per_sign"``)."""
        return self.cfg.sign_encoders == "per_sign"

    def _threshold_dtype(self) -> torch.dtype:
        return self.dtype

    @override
    def initialize_weights(self) -> None:
        super().initialize_weights()
        d_sae, dtype, device = self.cfg.d_sae, self.dtype, self.device
        for name in ("b_gate", "b_mag", "r_mag"):
            setattr(
                self, name, nn.Parameter(torch.zeros(d_sae, dtype=dtype, device=device))
            )
        init = getattr(self.cfg, "threshold_init", 0.0)
        # tied: one parameter; the format still holds both (see the state-dict hooks)
        names = THRESHOLDS[:1] if self.tied_thresholds else THRESHOLDS
        for name in names:
            value = torch.full((d_sae,), init, dtype=self._threshold_dtype())
            setattr(self, name, nn.Parameter(value.to(device)))
        if self.per_sign:  # the negative side starts as the shared model's
            self.W_enc_neg = nn.Parameter(-self.W_enc.detach().clone())
            self.b_gate_neg = nn.Parameter(-self.b_gate.detach().clone())
            self.b_mag_neg = nn.Parameter(-self.b_mag.detach().clone())
            self.r_mag_neg = nn.Parameter(self.r_mag.detach().clone())

    @property
    def tied_thresholds(self) -> bool:
        """One threshold per latent for both sides (the training config's
        ``tie_thresholds``): then ``threshold_pos`` is the only threshold
        parameter, and the state dict holds it twice, as ``threshold_pos`` and
        ``threshold_neg``."""
        return False

    def thresholds(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``(theta_pos, theta_neg)``; ``theta_pos`` twice when tied."""
        if self.tied_thresholds:
            return self.threshold_pos, self.threshold_pos
        return self.threshold_pos, self.threshold_neg

    def threshold_parameters(self) -> list[nn.Parameter]:
        """The distinct threshold parameters: ``[threshold_pos]`` when tied."""
        if self.tied_thresholds:
            return [self.threshold_pos]
        return [self.threshold_pos, self.threshold_neg]

    def gate_and_magnitude(
        self, sae_in: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(pi_gate, pi_mag)`` from the centred input (Gated SAE's exact ops)."""
        pi_gate = sae_in @ self.W_enc + self.b_gate
        pi_mag = sae_in @ (self.W_enc * self.r_mag.exp()) + self.b_mag
        return pi_gate, pi_mag

    def negative_gate_and_magnitude(
        self, sae_in: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-sign: ``(pi_neg, m_neg)``, the negative side's own detector."""
        pi_neg = sae_in @ self.W_enc_neg + self.b_gate_neg
        m_neg = sae_in @ (self.W_enc_neg * self.r_mag_neg.exp()) + self.b_mag_neg
        return pi_neg, m_neg

    def signed_acts(
        self,
        sae_in: torch.Tensor,
        thresholds: tuple[torch.Tensor, torch.Tensor],
        bandwidth: float = 1.0,
        ste_to_input: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(f, hidden_pre)`` of the centred input with the ops of
        ``saes/bi_jump_relu.py``: the Bi-Jump-ReLU, the Gated SAE's
        ``g * relu(pi_mag)`` when one-sided, or the per-sign pair of gates.
        ``hidden_pre`` (through ``hook_sae_acts_pre``) is ``pi_mag``; per-sign it
        is ``[pi_mag, m_neg]``, ``2 d_sae`` wide."""
        pi_gate, pi_mag = self.gate_and_magnitude(sae_in)
        theta_pos, theta_neg = (t.to(pi_gate.dtype) for t in thresholds)
        if self.per_sign:
            pi_neg, m_neg = self.negative_gate_and_magnitude(sae_in)
            pre = self.hook_sae_acts_pre(torch.cat([pi_mag, m_neg], dim=-1))
            pi_mag, m_neg = pre.chunk(2, dim=-1)
            g_pos = one_sided_gate(pi_gate, theta_pos, bandwidth, ste_to_input)
            g_neg = one_sided_gate(pi_neg, theta_neg, bandwidth, ste_to_input)
            return g_pos * torch.relu(pi_mag) - g_neg * torch.relu(m_neg), pre
        pi_mag = self.hook_sae_acts_pre(pi_mag)
        if not self.cfg.two_sided:
            gate = one_sided_gate(pi_gate, theta_pos, bandwidth, ste_to_input)
            return gate * torch.relu(pi_mag), pi_mag
        g_pos, g_neg = two_sided_gates(
            pi_gate, theta_pos, theta_neg, bandwidth, ste_to_input
        )
        return bi_jump_relu(g_pos, g_neg, pi_mag), pi_mag

    def side_acts(self, x: torch.Tensor) -> torch.Tensor:
        """``[relu parts of the positive side, of the negative side]``, ``2 d_sae``
        wide, each >= 0: what each side adds (``f = pos - neg``). Per-sign, both
        may be nonzero on one token; otherwise they are ``relu(f)``, ``relu(-f)``."""
        sae_in = self.process_sae_in(x)
        if not self.per_sign:
            f = self.signed_acts(sae_in, self.thresholds())[0]
            return torch.cat([f.clamp(min=0), (-f).clamp(min=0)], dim=-1)
        theta_pos, theta_neg = self.thresholds()
        pi_gate, pi_mag = self.gate_and_magnitude(sae_in)
        pi_neg, m_neg = self.negative_gate_and_magnitude(sae_in)
        pos = (pi_gate > theta_pos.to(pi_gate.dtype)) * torch.relu(pi_mag)
        neg = (pi_neg > theta_neg.to(pi_neg.dtype)) * torch.relu(m_neg)
        return torch.cat([pos, neg], dim=-1)

    @override
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        f, _ = self.signed_acts(self.process_sae_in(x), self.thresholds())
        return self.hook_sae_acts_post(f)

    @override
    def decode(self, feature_acts: torch.Tensor) -> torch.Tensor:
        return self.finish_decode(feature_acts @ self.W_dec)

    def finish_decode(self, recon: torch.Tensor) -> torch.Tensor:
        """``sae_out`` from ``recon = f @ W_dec``: ``+ b_dec``, the output hook,
        the activation norm's inverse and the head reshape, as SAELens decodes."""
        sae_out = self.hook_sae_recons(recon + self.b_dec)
        sae_out = self.run_time_activation_norm_fn_out(sae_out)
        return self.reshape_fn_out(sae_out, self.d_head)

    @override
    @torch.no_grad()
    def fold_W_dec_norm(self) -> None:
        """Unit decoder rows; the encoder, the gate vectors and the thresholds
        (all in pre-activation units) scaled by the old norms."""
        scale = self.fold_and_get_W_dec_norm()
        self.b_gate.data.mul_(scale)
        self.b_mag.data.mul_(scale)
        if self.per_sign:
            self.W_enc_neg.data.mul_(scale[None, :])
            self.b_gate_neg.data.mul_(scale)
            self.b_mag_neg.data.mul_(scale)
        for theta in self.threshold_parameters():
            theta.data.mul_(scale.to(self._threshold_dtype()))

    @override
    @torch.no_grad()
    def fold_activation_norm_scaling_factor(self, scaling_factor: float) -> None:
        if self.per_sign:
            self.W_enc_neg.data *= scaling_factor
        super().fold_activation_norm_scaling_factor(scaling_factor)

    @override
    @torch.no_grad()
    def fold_activation_whitening(
        self,
        mean: torch.Tensor,
        whitening_matrix: torch.Tensor,
        unwhitening_matrix: torch.Tensor,
    ) -> None:
        if self.per_sign:  # the same map as upstream applies to W_enc
            dtype = torch.promote_types(self.W_enc_neg.dtype, whitening_matrix.dtype)
            matrix = whitening_matrix.to(self.device, dtype)
            self.W_enc_neg.data.copy_(matrix @ self.W_enc_neg.data.to(dtype))
        super().fold_activation_whitening(mean, whitening_matrix, unwhitening_matrix)
        if not self.cfg.apply_b_dec_to_input:  # as SAELens's Gated SAE does
            shift = mean.to(self.W_enc) @ self.W_enc
            self.b_gate.data.sub_(shift)
            self.b_mag.data.sub_(shift * self.r_mag.exp())
            if self.per_sign:
                shift = mean.to(self.W_enc_neg) @ self.W_enc_neg
                self.b_gate_neg.data.sub_(shift)
                self.b_mag_neg.data.sub_(shift * self.r_mag_neg.exp())

    @override
    def process_state_dict_for_saving(self, state_dict: dict[str, Any]) -> None:
        check_finite_for_saving(state_dict)

    @override
    def save_model(self, path: str | Path) -> tuple[Path, Path]:
        """SAELens's save, refused before anything is written if a parameter
        is NaN or inf (``NonFiniteSaveError`` names it)."""
        check_finite_for_saving(dict(self.named_parameters()))
        return super().save_model(path)


class SignAwareGatedSAE(SignAwareGatedBase[SignAwareGatedSAEConfig]):
    """Inference SA-GSAE: signed latents from a two-sided gate and a magnitude path."""

    @override
    def process_state_dict_for_loading(self, state_dict: dict[str, Any]) -> None:
        state_dict.pop(CONTROLLER, None)  # training-only controller state
        upgrade_state_dict(state_dict)
        validate_state_dict(state_dict, self.cfg)


class SignAwareGatedTrainingSAE(
    SignAwareGatedBase[SignAwareGatedTrainingSAEConfig],
    TrainingSAE[SignAwareGatedTrainingSAEConfig],
):
    """Training SA-GSAE: reconstruction + sparsity + auxiliary soft-gate reconstruction.

    The thresholds get straight-through gradients from every term that
    multiplies a gate (none when ``learn_thresholds=False``). Thresholds and the
    controller state stay float32 whatever the SAE's dtype (Adam's steps on an
    O(1) threshold round away in bfloat16), as SAELens's JumpReLU keeps its
    threshold. A non-finite input batch or loss raises ``NonFiniteTrainingError``
    whichever trainer runs the step, and a non-finite SAE is never saved.
    """

    l0_controller: torch.Tensor

    def __init__(
        self, cfg: SignAwareGatedTrainingSAEConfig, use_error_term: bool = False
    ):
        if use_error_term:
            raise ValueError(
                "SignAwareGatedTrainingSAE does not support `use_error_term`."
            )
        super().__init__(cfg, use_error_term)
        self.n_threshold_resets = 0
        # target_l0 controller state: [integral, log of the coefficient's factor]
        self.register_buffer(
            CONTROLLER, torch.zeros(2, dtype=torch.float32, device=self.device)
        )
        self.register_state_dict_post_hook(_save_tied_threshold_twice)
        self.register_load_state_dict_pre_hook(_load_tied_threshold_once)

    @override
    def _threshold_dtype(self) -> torch.dtype:
        return torch.float32

    @property
    @override
    def tied_thresholds(self) -> bool:
        return self.cfg.tie_thresholds and self.cfg.two_sided

    @override
    def initialize_weights(self) -> None:
        super().initialize_weights()
        if self.cfg.unit_norm_encoder:
            self._project_encoder()

    @override
    def _apply(self, *args: Any, **kwargs: Any) -> "SignAwareGatedTrainingSAE":
        out = super()._apply(*args, **kwargs)
        # nn.Module.to() casts every float tensor; restore the float32 invariant
        for param in self.threshold_parameters():
            if param.dtype != torch.float32:
                param.data = param.data.float()
        state = self._buffers.get(CONTROLLER)
        if state is not None and state.dtype != torch.float32:
            self._buffers[CONTROLLER] = state.float()
        return out

    def loss_thresholds(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``thresholds()``, detached when ``learn_thresholds=False``."""
        theta_pos, theta_neg = self.thresholds()
        if self.cfg.learn_thresholds:
            return theta_pos, theta_neg
        return theta_pos.detach(), theta_neg.detach()

    @override
    def encode_with_hidden_pre(
        self, x: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The reference forward (``bi_jump_relu.py``) with the training estimator."""
        f, hidden_pre = self.signed_acts(
            self.process_sae_in(x),
            self.loss_thresholds(),
            self.cfg.bandwidth,
            self.cfg.ste_to_input,
        )
        return self.hook_sae_acts_post(f), hidden_pre

    def step_spec(self) -> StepSpec:
        """The step's options; per-sign, a one-sided step over both sides."""
        cfg = self.cfg
        return StepSpec(
            two_sided=cfg.two_sided and not self.per_sign,
            sparsity=cfg.sparsity,
            bandwidth=cfg.bandwidth,
            ste_to_input=cfg.ste_to_input,
            learn_thresholds=cfg.learn_thresholds,
            max_density=cfg.sparse_max_density,
        )

    def step_tensors(self, sae_in: torch.Tensor) -> StepTensors:
        """The centred input and this step's parameters (see ``StepTensors``).

        Per-sign, the ``2 d_sae`` sides of a one-sided step: encoder columns
        ``[W_enc, W_enc_neg]``, gate and magnitude vectors and thresholds
        likewise, decoder rows ``[W_dec; -W_dec]``."""
        theta_pos, theta_neg = self.loss_thresholds()
        W_aux: torch.Tensor = self.W_dec
        b_aux: torch.Tensor = self.b_dec
        if self.cfg.aux_detach_decoder:
            W_aux, b_aux = W_aux.detach(), b_aux.detach()
        if not self.per_sign:
            return StepTensors(
                sae_in=self.process_sae_in(sae_in),
                W_enc=self.W_enc,
                b_gate=self.b_gate,
                b_mag=self.b_mag,
                r_mag=self.r_mag,
                theta_pos=theta_pos,
                theta_neg=theta_neg,
                W_dec=self.W_dec,
                W_aux=W_aux,
                b_aux=b_aux,
            )
        thetas = torch.cat([theta_pos, theta_neg])
        W_dec2 = torch.cat([self.W_dec, -self.W_dec])
        # one copy of the mirrored decoder when the auxiliary loss sees W_dec itself
        W_aux2 = torch.cat([W_aux, -W_aux]) if W_aux is not self.W_dec else W_dec2
        return StepTensors(
            sae_in=self.process_sae_in(sae_in),
            W_enc=torch.cat([self.W_enc, self.W_enc_neg], dim=1),
            b_gate=torch.cat([self.b_gate, self.b_gate_neg]),
            b_mag=torch.cat([self.b_mag, self.b_mag_neg]),
            r_mag=torch.cat([self.r_mag, self.r_mag_neg]),
            theta_pos=thetas,
            theta_neg=thetas,
            W_dec=W_dec2,
            W_aux=W_aux2,
            b_aux=b_aux,
        )

    @override
    def training_forward_pass(self, step_input: TrainStepInput) -> TrainStepOutput:
        step = step_input.n_training_steps
        _check_finite_input(step_input.sae_in, step)
        with torch.no_grad():
            for theta in self.threshold_parameters():
                theta.data.clamp_(min=0.0)
            if self.cfg.unit_norm_encoder:
                self._project_encoder()
            if step == 0 and self.cfg.threshold_init_l0:
                self.init_thresholds_from_data(step_input.sae_in)
            n_reset = self._reset_dead_thresholds(step_input.dead_neuron_mask)
        if self.cfg.target_l0 is not None:
            coefficients = scale_coefficients(
                self.l0_controller, step_input.coefficients, (self.cfg.sparsity,)
            )
            step_input = replace(step_input, coefficients=coefficients)
        sides: torch.Tensor | None = None
        if self.cfg.fused_step:
            tensors = self.step_tensors(step_input.sae_in)
            terms = fused_step.step_terms(tensors, self.step_spec())
            if self.per_sign:  # one-sided over both sides: f = pos - neg
                sides = terms.feature_acts.detach()
                pos, neg = terms.feature_acts.chunk(2, dim=-1)
                terms = terms._replace(feature_acts=pos - neg)
            output = self._step_output(step_input, terms)
        else:  # SAELens's step: encode_with_hidden_pre, decode, calculate_aux_loss
            output = super().training_forward_pass(step_input)
            if self.per_sign:
                with torch.no_grad():
                    sides = self.side_acts(step_input.sae_in)
        _check_finite_losses(output, step)
        acts = output.feature_acts.detach()
        # what fires: each open side counts (per-sign, both sides may fire)
        fired = sides if sides is not None else acts
        if self.cfg.target_l0 is not None:
            output.metrics["sparsity_scale"] = observe_l0(
                self.l0_controller,
                fired,
                self.cfg.target_l0,
                self.cfg.target_l0_gain,
                self.cfg.target_l0_proportional,
            )
        pos, neg = sides.chunk(2, dim=-1) if sides is not None else (acts, -acts)
        # lazy, as SAELens's metrics: computed on logging steps only
        output.metrics["l0_positive"] = lambda: (pos > 0).float().sum(-1).mean()
        output.metrics["l0_negative"] = lambda: (neg > 0).float().sum(-1).mean()
        output.metrics["threshold_resets"] = n_reset
        output.metrics["threshold_mean"] = lambda: self.thresholds()[0].mean()
        return output

    def _step_output(
        self, step_input: TrainStepInput, terms: StepTerms
    ) -> TrainStepOutput:
        """SAELens's output of a step: the hooks, and the losses under SAELens's
        names, summed in SAELens's order (mse, then the others)."""
        sparsity = self.cfg.sparsity
        feature_acts = self.hook_sae_acts_post(terms.feature_acts)
        sae_out = self.finish_decode(terms.recon)
        mse_loss = self.mse_loss_fn(sae_out, step_input.sae_in).sum(dim=-1).mean()
        penalty = step_input.coefficients[sparsity] * terms.penalty.mean()
        aux = (terms.aux_recon - step_input.sae_in).pow(2).sum(dim=-1).mean()
        losses = {
            "mse_loss": mse_loss,
            f"{sparsity}_loss": penalty,
            "auxiliary_reconstruction_loss": self.cfg.aux_coefficient * aux,
        }
        return TrainStepOutput(
            sae_in=step_input.sae_in,
            sae_out=sae_out,
            feature_acts=feature_acts,
            hidden_pre=self.hook_sae_acts_pre(terms.hidden_pre),
            loss=mse_loss
            + losses[f"{sparsity}_loss"]
            + losses["auxiliary_reconstruction_loss"],
            losses=losses,
        )

    @override
    def calculate_aux_loss(
        self,
        step_input: TrainStepInput,
        feature_acts: torch.Tensor,
        hidden_pre: torch.Tensor,
        sae_out: torch.Tensor,
    ) -> dict[str, torch.Tensor]:
        """The sparsity and auxiliary losses of the reference path, from the input
        processed again (``saes/reference_step.py``)."""
        tensors = self.step_tensors(step_input.sae_in)  # per-sign: both sides
        penalty, aux_recon = reference_step.loss_terms(tensors, self.step_spec())
        sparsity = self.cfg.sparsity
        aux = (aux_recon - step_input.sae_in).pow(2).sum(dim=-1).mean()
        return {
            f"{sparsity}_loss": step_input.coefficients[sparsity] * penalty.mean(),
            "auxiliary_reconstruction_loss": self.cfg.aux_coefficient * aux,
        }

    @override
    def get_coefficients(self) -> dict[str, float | TrainCoefficientConfig]:
        value = (
            self.cfg.l1_coefficient
            if self.cfg.sparsity == "l1"
            else self.cfg.l0_coefficient
        )
        return {
            self.cfg.sparsity: TrainCoefficientConfig(
                value=value, warm_up_steps=self.cfg.sparsity_warm_up_steps
            )
        }

    @torch.no_grad()
    def init_thresholds_from_data(self, sae_in: torch.Tensor) -> None:
        """Set each latent's thresholds so it fires on ``threshold_init_l0 / d_sae``
        of the batch: a quantile of ``|pi_gate|`` (tied), of ``+-pi_gate`` at half
        the rate each (untied) or of ``pi_gate`` (one-sided). Under
        data-parallel training the quantile is over the global batch."""
        assert self.cfg.threshold_init_l0 is not None
        rate = min(self.cfg.threshold_init_l0 / self.cfg.d_sae, 1.0)
        centred = self.process_sae_in(sae_in)
        pi_gate = gather_rows(self.gate_and_magnitude(centred)[0].float())

        def quantile(values: torch.Tensor, firing_rate: float) -> torch.Tensor:
            return torch.quantile(values, 1.0 - firing_rate, dim=0).clamp(min=0.0)

        if self.per_sign:  # pi_neg detects the negative side: it fires above
            pi_neg = self.negative_gate_and_magnitude(centred)[0].float()
            pi_neg = gather_rows(pi_neg)
            if self.tied_thresholds:  # both sides together at the rate
                both = torch.cat([pi_gate, pi_neg])
                self.threshold_pos.data.copy_(quantile(both, rate / 2))
            else:
                self.threshold_pos.data.copy_(quantile(pi_gate, rate / 2))
                self.threshold_neg.data.copy_(quantile(pi_neg, rate / 2))
        elif not self.cfg.two_sided:
            self.threshold_pos.data.copy_(quantile(pi_gate, rate))
        elif self.tied_thresholds:
            self.threshold_pos.data.copy_(quantile(pi_gate.abs(), rate))
        else:
            self.threshold_pos.data.copy_(quantile(pi_gate, rate / 2))
            self.threshold_neg.data.copy_(quantile(-pi_gate, rate / 2))

    @torch.no_grad()
    def _reset_dead_thresholds(self, dead_neuron_mask: torch.Tensor | None) -> int:
        """Set the thresholds of dead latents above ``threshold_init`` back to it."""
        if not self.cfg.reset_dead_thresholds or dead_neuron_mask is None:
            return 0
        init = self.cfg.threshold_init
        theta_pos, theta_neg = self.thresholds()
        to_reset = dead_neuron_mask & ((theta_pos > init) | (theta_neg > init))
        n_reset = int(to_reset.sum())
        if n_reset:
            for theta in self.threshold_parameters():
                theta.data[to_reset] = init
            self.n_threshold_resets += n_reset
        return n_reset

    @torch.no_grad()
    def _project_encoder(self) -> None:
        encoders = [self.W_enc, self.W_enc_neg] if self.per_sign else [self.W_enc]
        for W in encoders:
            W.data.div_(W.data.norm(dim=0, keepdim=True).clamp(min=1e-8))

    @override
    def save_inference_model(self, path: str | Path) -> tuple[Path, Path]:
        check_finite_for_saving(dict(self.named_parameters()))
        return super().save_inference_model(path)

    @override
    def process_state_dict_for_saving_inference(
        self, state_dict: dict[str, Any]
    ) -> None:
        state_dict.pop(CONTROLLER, None)
        self.process_state_dict_for_saving(state_dict)

    @override
    def process_state_dict_for_loading(self, state_dict: dict[str, Any]) -> None:
        state_dict.setdefault(CONTROLLER, torch.zeros(2))
        upgrade_state_dict(state_dict)
        validate_state_dict(state_dict, self.cfg, training=True)
        if self.tied_thresholds and not torch.equal(
            state_dict["threshold_pos"], state_dict["threshold_neg"]
        ):
            raise StateDictError(
                [
                    "threshold_pos and threshold_neg differ, but the config ties "
                    "them (tie_thresholds=True); load it with tie_thresholds=False"
                ]
            )

    @torch.no_grad()
    def log_histograms(self) -> dict[str, NDArray[Any]]:
        theta_pos, theta_neg = self.thresholds()
        return {
            **super().log_histograms(),
            "weights/b_gate": self.b_gate.detach().float().cpu().numpy(),
            "weights/b_mag": self.b_mag.detach().float().cpu().numpy(),
            "weights/threshold_pos": theta_pos.detach().float().cpu().numpy(),
            "weights/threshold_neg": theta_neg.detach().float().cpu().numpy(),
        }


def _save_tied_threshold_twice(
    module: nn.Module,
    state_dict: dict[str, Any],
    prefix: str,
    local_metadata: dict[str, Any],  # noqa: ARG001
) -> None:
    """State-dict hook: with tied thresholds the one threshold is saved as both
    ``threshold_pos`` and ``threshold_neg``, so the format never depends on the
    flag."""
    if isinstance(module, SignAwareGatedTrainingSAE) and module.tied_thresholds:
        state_dict[f"{prefix}threshold_neg"] = (
            state_dict[f"{prefix}threshold_pos"].detach().clone()
        )


def _load_tied_threshold_once(
    module: nn.Module,
    state_dict: dict[str, Any],
    prefix: str,
    *args: Any,  # noqa: ARG001
) -> None:
    """Load-state-dict pre-hook: with tied thresholds ``threshold_neg`` is the
    saved copy of ``threshold_pos``, not a parameter of its own."""
    if isinstance(module, SignAwareGatedTrainingSAE) and module.tied_thresholds:
        state_dict.pop(f"{prefix}threshold_neg", None)


def _check_finite_input(sae_in: torch.Tensor, step: int) -> None:
    bad = sae_in.numel() - int(torch.isfinite(sae_in).sum())
    if bad:
        raise NonFiniteTrainingError(
            step,
            "input batch",
            f"non-finite input batch: {bad} of {sae_in.numel()} values are NaN or inf",
        )


def _check_finite_losses(output: TrainStepOutput, step: int) -> None:
    losses = {**output.losses, "loss": output.loss}  # the term before the total
    for name, value in losses.items():
        if not bool(torch.isfinite(value.detach()).all()):
            raise NonFiniteTrainingError(
                step,
                f"loss term {name!r}",
                "from finite inputs; the parameters or a coefficient diverged "
                "(lower the learning rate or the coefficients)",
            )
