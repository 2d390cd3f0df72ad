"""Fixtures of the analysis tests: the real model, a small SA-GSAE trained on its
activations, and validation token windows."""

from collections.abc import Iterator
from typing import Any

import pytest
import torch
from sae_lens import SAE

from tests.signed_dictionary import small_signed_sae


@pytest.fixture(scope="session", autouse=True)
def _one_torch_thread() -> Iterator[None]:
    """One thread: the ops are tiny and the machine is shared."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def signed_sae(mlp_out_acts: dict[str, torch.Tensor]) -> SAE[Any]:
    return small_signed_sae(mlp_out_acts["train"])


@pytest.fixture(scope="session")
def val_windows(tinystories_model) -> torch.Tensor:
    """32 validation windows of 128 tokens."""
    from sae_lens_signaware.bench.activations import read_texts, token_windows

    return token_windows(tinystories_model, read_texts("validation"), 128, 4096)
