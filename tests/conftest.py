"""Shared fixtures: small configs, and the real model and activations from ../shared."""

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from sae_lens import SAE

import sae_lens_signaware  # noqa: F401  (registers the architecture)
from sae_lens_signaware.assets import ASSETS_ENV, use_offline_hub

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault(ASSETS_ENV, str(REPO.parent / "shared" / "assets"))
use_offline_hub()


#: fixtures that load or train on the real TinyStories model
REAL_MODEL_FIXTURES = {
    "tinystories_model",
    "mlp_out_acts",
    "signed_sae",
    "val_windows",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that uses the real model is ``integration``, marked or not, so
    ``-m "not integration"`` runs only the fast tests."""
    for item in items:
        if REAL_MODEL_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


@pytest.fixture(scope="session", autouse=True)
def _one_torch_thread() -> Iterator[None]:
    """One thread: the ops are tiny and the machine (2 cores) is shared; two
    threads ran small ops 10-27x slower here."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def tinystories_model():
    from sae_lens_signaware.assets import DEFAULT_MODEL
    from sae_lens_signaware.models import load_hooked_model

    return load_hooked_model(DEFAULT_MODEL)


@pytest.fixture(scope="session")
def mlp_out_acts(tinystories_model) -> dict[str, torch.Tensor]:
    """Real layer-1 MLP-output activations: 64k train and 8k validation tokens."""
    from sae_lens_signaware.activations import cached_activations

    hook = "blocks.1.hook_mlp_out"
    return {
        "train": cached_activations(tinystories_model, hook, "train", 65_536),
        "validation": cached_activations(tinystories_model, hook, "validation", 8_192),
    }


@pytest.fixture(scope="session")
def signed_sae(mlp_out_acts: dict[str, torch.Tensor]) -> SAE[Any]:
    """A small SA-GSAE trained on real activations (tests/signed_dictionary.py)."""
    from tests.signed_dictionary import small_signed_sae

    return small_signed_sae(mlp_out_acts["train"])


@pytest.fixture(scope="session")
def val_windows(tinystories_model) -> torch.Tensor:
    """32 validation windows of 128 tokens."""
    from sae_lens_signaware.activations import read_texts, token_windows

    return token_windows(tinystories_model, read_texts("validation"), 128, 4096)
