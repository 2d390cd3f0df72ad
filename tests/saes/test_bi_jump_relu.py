import pytest
import torch

from sae_lens_signaware.saes.bi_jump_relu import (
    bi_jump_relu,
    soft_two_sided_gate,
    two_sided_gates,
)


def test_bi_jump_relu_values_on_hand_made_inputs() -> None:
    pi_gate = torch.tensor([[2.0, -2.0, 0.5, -0.5, 2.0, -2.0]])
    pi_mag = torch.tensor([[3.0, -4.0, 5.0, -6.0, -1.0, 1.0]])
    theta = torch.ones(6)
    g_pos, g_neg = two_sided_gates(pi_gate, theta, theta, bandwidth=0.1)
    f = bi_jump_relu(g_pos, g_neg, pi_mag)
    # open +, open -, dead zone, dead zone, gate + but magnitude -, gate - but magnitude +
    assert f.tolist() == [[3.0, -4.0, 0.0, 0.0, 0.0, 0.0]]


def test_gates_respect_untied_dead_zone() -> None:
    pi_gate = torch.tensor([[0.8, -0.8, 1.5, -1.5]])
    g_pos, g_neg = two_sided_gates(
        pi_gate, torch.full((4,), 1.0), torch.full((4,), 0.5), bandwidth=0.1
    )
    assert g_pos.tolist() == [[0.0, 0.0, 1.0, 0.0]]
    assert g_neg.tolist() == [[0.0, 1.0, 0.0, 1.0]]


def test_soft_gate_values() -> None:
    pi_gate = torch.tensor([3.0, -3.0, 0.2])
    s = soft_two_sided_gate(pi_gate, torch.tensor(1.0), torch.tensor(2.0))
    assert s.tolist() == [2.0, -1.0, 0.0]


def test_soft_gate_gradients_match_finite_differences() -> None:
    pi_gate = (torch.randn(16, 5, dtype=torch.float64) * 2).requires_grad_()
    theta_pos = (torch.rand(5, dtype=torch.float64) + 0.1).requires_grad_()
    theta_neg = (torch.rand(5, dtype=torch.float64) + 0.1).requires_grad_()
    assert torch.autograd.gradcheck(
        soft_two_sided_gate, (pi_gate, theta_pos, theta_neg), eps=1e-6, atol=1e-6
    )


@pytest.mark.parametrize("bandwidth", [0.05, 0.5])
def test_l0_straight_through_gradients_match_definition(bandwidth: float) -> None:
    """d/dtheta sum(g) = -sum_batch K((pi - theta) / eps) / eps, K the unit rectangle."""
    pi_gate = torch.randn(256, 7) * 0.5
    theta_pos = torch.rand(7).mul(0.5).requires_grad_()
    theta_neg = torch.rand(7).mul(0.5).requires_grad_()
    pi_in = pi_gate.clone().requires_grad_()
    g_pos, g_neg = two_sided_gates(pi_in, theta_pos, theta_neg, bandwidth)
    (g_pos + g_neg).sum().backward()

    def kernel(u: torch.Tensor) -> torch.Tensor:
        return ((u > -0.5) & (u < 0.5)).float()

    expected_pos = -(kernel((pi_gate - theta_pos) / bandwidth) / bandwidth).sum(0)
    expected_neg = -(kernel((-pi_gate - theta_neg) / bandwidth) / bandwidth).sum(0)
    torch.testing.assert_close(theta_pos.grad, expected_pos)
    torch.testing.assert_close(theta_neg.grad, expected_neg)
    assert pi_in.grad is None or torch.all(pi_in.grad == 0)
    assert expected_pos.abs().sum() > 0 and expected_neg.abs().sum() > 0


def test_reconstruction_gradient_to_threshold_scales_with_jump_height() -> None:
    """Through f, d f / d theta_pos = -relu(pi_mag) K(.) / eps: the size of the jump."""
    bandwidth = 0.2
    pi_gate = torch.tensor([[1.05, 0.5]])
    pi_mag = torch.tensor([[3.0, 3.0]])
    theta = torch.ones(2, requires_grad=True)
    g_pos, g_neg = two_sided_gates(pi_gate, theta, theta, bandwidth)
    bi_jump_relu(g_pos, g_neg, pi_mag).sum().backward()
    assert theta.grad is not None
    torch.testing.assert_close(theta.grad, torch.tensor([-3.0 / bandwidth, 0.0]))
