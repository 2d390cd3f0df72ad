from typing import Any

import torch

from sae_lens_signaware.analysis.sign_diagnosis import antipodal_shares, sign_diagnosis


class _FixedCodes:
    """Stands in for an SAE: ``encode`` returns fixed codes, ``W_dec`` is given."""

    def __init__(self, codes: torch.Tensor, W_dec: torch.Tensor) -> None:
        self.codes, self.W_dec = codes, W_dec

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.codes[: len(x)]

    def decode(self, f: torch.Tensor) -> torch.Tensor:
        return f @ self.W_dec


def test_sign_diagnosis_counts_the_rarer_sign_and_its_value() -> None:
    # latent 0 fires + three times and - once (rarer: -); latent 1 fires + once
    codes = torch.tensor([[2.0, 0.0], [1.0, 0.0], [1.0, 3.0], [-4.0, 0.0]])
    sae: Any = _FixedCodes(codes, torch.eye(2))
    acts = codes @ torch.eye(2)  # reconstructed exactly
    d = sign_diagnosis(sae, acts)
    assert d["diag_ev"] == 1.0
    assert d["diag_l0"] == 5 / 4
    # rarer sign: latent 0's one negative firing; latent 1 never fires
    # negative, so its rarer side (negative) has no firings
    assert d["diag_l0_rarer"] == 1 / 4
    assert abs(d["diag_energy_rarer"] - 16 / (4 + 1 + 1 + 9 + 16)) < 1e-6
    without = acts.clone()
    without[3, 0] = 0.0
    total = (acts - acts.mean(0)).pow(2).sum()
    expected = float(1 - (without - acts).pow(2).sum() / total)
    assert abs(d["diag_ev_without_rarer"] - expected) < 1e-6
    # the weakest firing is a magnitude-1 one, which costs less than the -4
    assert d["diag_ev_without_weakest"] > d["diag_ev_without_rarer"]


def test_antipodal_shares_find_opposite_live_rows() -> None:
    W_dec = torch.tensor([[1.0, 0.0], [-1.0, 0.1], [0.0, 1.0], [0.0, -1.0]])
    codes = torch.tensor([[1.0, 1.0, 1.0, 0.0]])  # latent 3 never fires
    sae: Any = _FixedCodes(codes, W_dec)
    shares = antipodal_shares(sae, torch.zeros(1, 2))
    assert shares["diag_antipodal_05"] == 2 / 3
    assert shares["diag_antipodal_07"] == 2 / 3
