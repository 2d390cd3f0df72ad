"""Shared fixtures: small configs, and the real model and activations from ../shared."""

import os
from pathlib import Path

import pytest
import torch

import sae_lens_signaware  # noqa: F401  (registers the architecture)
from sae_lens_signaware.assets import ASSETS_ENV, use_offline_hub

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault(ASSETS_ENV, str(REPO.parent / "shared" / "assets"))
use_offline_hub()


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


@pytest.fixture(scope="session")
def tinystories_model():
    from sae_lens_signaware.assets import DEFAULT_MODEL
    from sae_lens_signaware.models import load_hooked_model

    return load_hooked_model(DEFAULT_MODEL)


@pytest.fixture(scope="session")
def mlp_out_acts(tinystories_model) -> dict[str, torch.Tensor]:
    """Real layer-1 MLP-output activations: 64k train and 8k validation tokens."""
    from sae_lens_signaware.bench.activations import cached_activations

    hook = "blocks.1.hook_mlp_out"
    return {
        "train": cached_activations(tinystories_model, hook, "train", 65_536),
        "validation": cached_activations(tinystories_model, hook, "validation", 8_192),
    }
