"""Sign-Aware Gated SAE (SA-GSAE, arXiv 2605.28149) for SAELens.

One latent fires with either sign along one decoder direction. With
``x~ = x - b_dec`` (when ``apply_b_dec_to_input``)::

    pi_gate = x~ @ W_enc + b_gate                      signed gate pre-activation
    pi_mag  = x~ @ (W_enc * exp(r_mag)) + b_mag        signed magnitude (shares W_enc)
    f       = H(pi_gate - theta_pos) relu(pi_mag) - H(-pi_gate - theta_neg) relu(-pi_mag)
    x_hat   = f @ W_dec + b_dec

With ``two_sided=False`` the negative side is switched off and, at zero
thresholds, the model is SAELens's Gated SAE. ``SignAwareGatedTrainingSAE``
trains it; its step runs as one autograd function (``saes/fused.py``, glued in
``saes/training_step.py``) unless ``fused_step=False``, which computes the
reference losses of ``saes/training_step.py`` with the ops of
``saes/bi_jump_relu.py``. The scheme and the experiments that chose its
defaults are in ``docs/architecture.md``.
"""

from dataclasses import replace
from typing import Any

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
from sae_lens_signaware.saes.batch_topk_support import (
    batch_topk_training_forward_pass,
)
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
    split_tied_threshold,
    validate_state_dict,
)
from sae_lens_signaware.saes.training_step import (
    fused_training_forward_pass,
    reference_losses,
)

__all__ = [
    "ARCHITECTURE",
    "SignAwareGatedSAE",
    "SignAwareGatedSAEConfig",
    "SignAwareGatedTrainingSAE",
    "SignAwareGatedTrainingSAEConfig",
]


class _SignAwareGatedMixin:
    """Encoder pieces shared by the inference and the training class."""

    cfg: SignAwareGatedSAEConfig | SignAwareGatedTrainingSAEConfig
    W_enc: nn.Parameter
    W_dec: nn.Parameter
    b_dec: nn.Parameter
    b_gate: nn.Parameter
    b_mag: nn.Parameter
    r_mag: nn.Parameter
    dtype: torch.dtype
    device: torch.device

    def _init_gate_params(
        self, threshold: float, tied: bool, threshold_dtype: torch.dtype | None = None
    ) -> None:
        d_sae, dtype, device = self.cfg.d_sae, self.dtype, self.device
        zeros = lambda: torch.zeros(d_sae, dtype=dtype, device=device)  # noqa: E731
        self.b_gate = nn.Parameter(zeros())
        self.b_mag = nn.Parameter(zeros())
        self.r_mag = nn.Parameter(zeros())
        full = lambda: torch.full(  # noqa: E731
            (d_sae,), threshold, dtype=threshold_dtype or dtype, device=device
        )
        if tied:
            self.threshold = nn.Parameter(full())
        else:
            self.threshold_pos = nn.Parameter(full())
            self.threshold_neg = nn.Parameter(full())

    def thresholds(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``(theta_pos, theta_neg)``; the same tensor twice when tied."""
        if "threshold" in self._parameters:  # type: ignore[attr-defined]
            return self.threshold, self.threshold  # type: ignore[attr-defined]
        return self.threshold_pos, self.threshold_neg  # type: ignore[attr-defined]

    def gate_and_magnitude(
        self, sae_in: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(pi_gate, pi_mag)`` from the centred input (Gated SAE's exact ops)."""
        pi_gate = sae_in @ self.W_enc + self.b_gate
        pi_mag = sae_in @ (self.W_enc * self.r_mag.exp()) + self.b_mag
        return pi_gate, pi_mag

    def gates(
        self, pi_gate: torch.Tensor, bandwidth: float, ste_to_input: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``(g_pos, g_neg)``; ``g_neg`` is None for a one-sided gate."""
        theta_pos, theta_neg = self.thresholds()
        theta_pos = theta_pos.to(pi_gate.dtype)
        if not self.cfg.two_sided:
            return one_sided_gate(pi_gate, theta_pos, bandwidth, ste_to_input), None
        theta_neg = theta_neg.to(pi_gate.dtype)
        return two_sided_gates(pi_gate, theta_pos, theta_neg, bandwidth, ste_to_input)

    def combine(
        self, g_pos: torch.Tensor, g_neg: torch.Tensor | None, pi_mag: torch.Tensor
    ) -> torch.Tensor:
        """Bi-Jump-ReLU, or the Gated SAE's ``g * relu(pi_mag)`` when one-sided."""
        if g_neg is None:
            return g_pos * torch.relu(pi_mag)
        return bi_jump_relu(g_pos, g_neg, pi_mag)

    @torch.no_grad()
    def _scale_gate_params(self, scale: torch.Tensor) -> None:
        """Rescale what lives in pre-activation units (after W_enc columns are scaled)."""
        self.b_gate.data.mul_(scale)
        self.b_mag.data.mul_(scale)
        theta_pos, theta_neg = self.thresholds()
        theta_pos.data.mul_(scale)
        if theta_neg is not theta_pos:
            theta_neg.data.mul_(scale)

    @torch.no_grad()
    def _shift_gate_biases_for_whitening(self, mean: torch.Tensor) -> None:
        if not self.cfg.apply_b_dec_to_input:
            shift = mean.to(self.W_enc) @ self.W_enc
            self.b_gate.data.sub_(shift)
            self.b_mag.data.sub_(shift * self.r_mag.exp())


class SignAwareGatedSAE(_SignAwareGatedMixin, SAE[SignAwareGatedSAEConfig]):
    """Inference SA-GSAE: signed latents from a two-sided gate and a magnitude path."""

    b_gate: nn.Parameter
    b_mag: nn.Parameter
    r_mag: nn.Parameter
    threshold_pos: nn.Parameter
    threshold_neg: nn.Parameter

    def __init__(self, cfg: SignAwareGatedSAEConfig, use_error_term: bool = False):
        super().__init__(cfg, use_error_term)
        self.b_enc = None

    @override
    def initialize_weights(self) -> None:
        super().initialize_weights()
        self._init_gate_params(threshold=0.0, tied=False)

    @override
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        sae_in = self.process_sae_in(x)
        pi_gate, pi_mag = self.gate_and_magnitude(sae_in)
        pi_mag = self.hook_sae_acts_pre(pi_mag)
        g_pos, g_neg = self.gates(pi_gate, bandwidth=1.0)
        return self.hook_sae_acts_post(self.combine(g_pos, g_neg, pi_mag))

    @override
    def decode(self, feature_acts: torch.Tensor) -> torch.Tensor:
        sae_out_pre = feature_acts @ self.W_dec + self.b_dec
        sae_out_pre = self.hook_sae_recons(sae_out_pre)
        sae_out_pre = self.run_time_activation_norm_fn_out(sae_out_pre)
        return self.reshape_fn_out(sae_out_pre, self.d_head)

    @override
    @torch.no_grad()
    def fold_W_dec_norm(self) -> None:
        self._scale_gate_params(self.fold_and_get_W_dec_norm())

    @override
    @torch.no_grad()
    def fold_activation_whitening(
        self,
        mean: torch.Tensor,
        whitening_matrix: torch.Tensor,
        unwhitening_matrix: torch.Tensor,
    ) -> None:
        super().fold_activation_whitening(mean, whitening_matrix, unwhitening_matrix)
        self._shift_gate_biases_for_whitening(mean)

    @override
    def process_state_dict_for_loading(self, state_dict: dict[str, Any]) -> None:
        state_dict.pop("l0_controller", None)  # training-only controller state
        split_tied_threshold(state_dict)
        validate_state_dict(state_dict, self.cfg, tied=False)


class SignAwareGatedTrainingSAE(
    _SignAwareGatedMixin, TrainingSAE[SignAwareGatedTrainingSAEConfig]
):
    """Training SA-GSAE: reconstruction + sparsity + auxiliary soft-gate reconstruction.

    ``L = ||x - x_hat||^2 + sparsity + aux_coefficient ||x - (s @ W_dec + b_dec)||^2``
    with ``sparsity = l1_coefficient * sum_i ||W_dec[i]|| |s_i|`` (``"l1"``) or
    ``l0_coefficient * sum_i (g_pos + g_neg)`` (``"l0"``). The thresholds get
    straight-through gradients from every term that multiplies a gate (none when
    ``learn_thresholds=False``). Thresholds and the controller state stay float32
    whatever the SAE's dtype (Adam's steps on an O(1) threshold round away in
    bfloat16), as SAELens's JumpReLU keeps its threshold.
    """

    b_gate: nn.Parameter
    b_mag: nn.Parameter
    r_mag: nn.Parameter

    def __init__(
        self, cfg: SignAwareGatedTrainingSAEConfig, use_error_term: bool = False
    ):
        if use_error_term:
            raise ValueError(
                "SignAwareGatedTrainingSAE does not support `use_error_term`."
            )
        super().__init__(cfg, use_error_term)
        self.b_enc = None
        self.n_threshold_resets = 0
        # target_l0 controller state: [integral, log of the coefficient's factor]
        self.register_buffer(
            "l0_controller", torch.zeros(2, dtype=torch.float32, device=self.device)
        )

    @override
    def initialize_weights(self) -> None:
        super().initialize_weights()
        self._init_gate_params(
            self.cfg.threshold_init,
            tied=self.cfg.tie_thresholds,
            threshold_dtype=torch.float32,
        )
        if self.cfg.unit_norm_encoder:
            self._project_encoder()

    @override
    def _apply(self, *args: Any, **kwargs: Any) -> "SignAwareGatedTrainingSAE":
        out = super()._apply(*args, **kwargs)
        # nn.Module.to() casts every float tensor; restore the float32 invariant
        for name in ("threshold", "threshold_pos", "threshold_neg"):
            param = self._parameters.get(name)
            if param is not None and param.dtype != torch.float32:
                param.data = param.data.float()
        state = self._buffers.get("l0_controller")
        if state is not None and state.dtype != torch.float32:
            self._buffers["l0_controller"] = state.float()
        return out

    def loss_thresholds(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``thresholds()``, detached when ``learn_thresholds=False``."""
        theta_pos, theta_neg = self.thresholds()
        if self.cfg.learn_thresholds:
            return theta_pos, theta_neg
        return theta_pos.detach(), theta_neg.detach()

    @override
    def gates(
        self, pi_gate: torch.Tensor, bandwidth: float, ste_to_input: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        theta_pos, theta_neg = (t.to(pi_gate.dtype) for t in self.loss_thresholds())
        if not self.cfg.two_sided:
            return one_sided_gate(pi_gate, theta_pos, bandwidth, ste_to_input), None
        return two_sided_gates(pi_gate, theta_pos, theta_neg, bandwidth, ste_to_input)

    @override
    def encode_with_hidden_pre(
        self, x: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The reference forward (``bi_jump_relu.py``); keeps nothing on ``self``."""
        sae_in = self.process_sae_in(x)
        pi_gate, pi_mag = self.gate_and_magnitude(sae_in)
        pi_mag = self.hook_sae_acts_pre(pi_mag)
        g_pos, g_neg = self.gates(pi_gate, self.cfg.bandwidth, self.cfg.ste_to_input)
        return self.hook_sae_acts_post(self.combine(g_pos, g_neg, pi_mag)), pi_mag

    @override
    def training_forward_pass(self, step_input: TrainStepInput) -> TrainStepOutput:
        with torch.no_grad():
            for theta in set(self.thresholds()):
                theta.data.clamp_(min=0.0)
            if self.cfg.unit_norm_encoder:
                self._project_encoder()
            if self.cfg.unit_norm_decoder:
                self._project_decoder()
            if step_input.n_training_steps == 0 and self.cfg.threshold_init_l0:
                self.init_thresholds_from_data(step_input.sae_in)
            n_reset = self._reset_dead_thresholds(step_input.dead_neuron_mask)
        if self.cfg.target_l0 is not None:
            coefficients = scale_coefficients(
                self.l0_controller, step_input.coefficients, (self.cfg.sparsity,)
            )
            step_input = replace(step_input, coefficients=coefficients)
        if self.cfg.support == "batch_topk":  # saes/batch_topk_support.py
            output = batch_topk_training_forward_pass(self, step_input)
        elif self.cfg.fused_step:  # saes/training_step.py
            output = fused_training_forward_pass(self, step_input)
        else:  # the reference: encode_with_hidden_pre, decode, calculate_aux_loss
            output = super().training_forward_pass(step_input)
        acts = output.feature_acts.detach()
        if self.cfg.target_l0 is not None:
            output.metrics["sparsity_scale"] = observe_l0(
                self.l0_controller,
                acts,
                self.cfg.target_l0,
                self.cfg.target_l0_gain,
                self.cfg.target_l0_proportional,
            )
        output.metrics["l0_positive"] = lambda: (acts > 0).float().sum(-1).mean()
        output.metrics["l0_negative"] = lambda: (acts < 0).float().sum(-1).mean()
        output.metrics["threshold_resets"] = n_reset
        output.metrics["threshold_mean"] = lambda: self.thresholds()[0].mean()
        return output

    @override
    def calculate_aux_loss(
        self,
        step_input: TrainStepInput,
        feature_acts: torch.Tensor,
        hidden_pre: torch.Tensor,
        sae_out: torch.Tensor,
    ) -> dict[str, torch.Tensor]:
        """The reference losses (``saes/training_step.py``)."""
        return reference_losses(self, step_input)

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
        of the batch: a quantile of ``|pi_gate|`` (tied), of ``+-pi_gate`` (untied,
        ``init_negative_share`` of the rate on the negative side, the rest on the
        positive) or of ``pi_gate`` (one-sided). Under data-parallel
        training the quantile is over every rank's batch (the global batch)."""
        assert self.cfg.threshold_init_l0 is not None
        rate = min(self.cfg.threshold_init_l0 / self.cfg.d_sae, 1.0)
        pi_gate = self.gate_and_magnitude(self.process_sae_in(sae_in))[0].float()
        pi_gate = gather_rows(pi_gate)
        theta_pos, theta_neg = self.thresholds()

        def quantile(values: torch.Tensor, firing_rate: float) -> torch.Tensor:
            q = torch.quantile(values, 1.0 - firing_rate, dim=0).clamp(min=0.0)
            return q.to(theta_pos.dtype)

        if not self.cfg.two_sided:
            theta_pos.data.copy_(quantile(pi_gate, rate))
        elif theta_pos is theta_neg:
            theta_pos.data.copy_(quantile(pi_gate.abs(), rate))
        else:
            share = self.cfg.init_negative_share
            theta_pos.data.copy_(quantile(pi_gate, rate * (1 - share)))
            theta_neg.data.copy_(quantile(-pi_gate, rate * share))

    @torch.no_grad()
    def _reset_dead_thresholds(self, dead_neuron_mask: torch.Tensor | None) -> int:
        """Set the thresholds of dead latents above ``threshold_init`` back to it."""
        if not self.cfg.reset_dead_thresholds or dead_neuron_mask is None:
            return 0
        init = self.cfg.threshold_init
        to_reset = torch.zeros_like(dead_neuron_mask)
        for theta in set(self.thresholds()):
            to_reset |= dead_neuron_mask & (theta > init)
        n_reset = int(to_reset.sum())
        if n_reset:
            for theta in set(self.thresholds()):
                theta.data[to_reset] = init
            self.n_threshold_resets += n_reset
        return n_reset

    @torch.no_grad()
    def _project_encoder(self) -> None:
        self.W_enc.data.div_(self.W_enc.data.norm(dim=0, keepdim=True).clamp(min=1e-8))

    @torch.no_grad()
    def _project_decoder(self) -> None:
        """Unit-norm ``W_dec`` rows; ``pi_mag`` scaled by the old norms, so that
        ``f_i d_i`` (the output) is unchanged."""
        norm = self.W_dec.data.norm(dim=1).clamp(min=1e-8)
        self.W_dec.data.div_(norm[:, None])
        self.r_mag.data.add_(norm.log().to(self.r_mag.dtype))
        self.b_mag.data.mul_(norm.to(self.b_mag.dtype))

    @override
    @torch.no_grad()
    def fold_W_dec_norm(self) -> None:
        self._scale_gate_params(self.fold_and_get_W_dec_norm())

    @override
    @torch.no_grad()
    def fold_activation_whitening(
        self,
        mean: torch.Tensor,
        whitening_matrix: torch.Tensor,
        unwhitening_matrix: torch.Tensor,
    ) -> None:
        super().fold_activation_whitening(mean, whitening_matrix, unwhitening_matrix)
        self._shift_gate_biases_for_whitening(mean)

    @override
    def process_state_dict_for_saving_inference(
        self, state_dict: dict[str, Any]
    ) -> None:
        state_dict.pop("l0_controller", None)
        split_tied_threshold(state_dict)

    @override
    def process_state_dict_for_loading(self, state_dict: dict[str, Any]) -> None:
        state_dict.setdefault("l0_controller", torch.zeros(2))
        validate_state_dict(
            state_dict, self.cfg, tied=self.cfg.tie_thresholds, training=True
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
