"""Shared fixtures: small configs, and the real model and activations from ../shared."""

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from sae_lens import SAE

import sae_lens_signaware  # noqa: F401  (registers the architecture)
from sae_lens_signaware.training import run_training
from sae_lens_signaware_cli.assets import ASSETS_ENV, use_offline_hub
from tests.paths import ASSETS, TINYSTORIES
from tests.runner_configs import LEARN_TOKENS, runner_cfg

os.environ.setdefault(ASSETS_ENV, str(ASSETS))
use_offline_hub()


#: fixtures that load or train on the real TinyStories model
REAL_MODEL_FIXTURES = {
    "tinystories_model",
    "mlp_out_acts",
    "signed_sae",
    "val_windows",
    "trained",
    "val_tokens",
    "dashboard_site",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The tiers: a test marked ``slow`` is slow; one that uses the real model
    (marked or through a fixture) is ``integration``; every other test is
    ``fast``, the default tier (``addopts = -m fast``)."""
    for item in items:
        if item.get_closest_marker("slow"):
            if item.get_closest_marker("integration"):
                raise pytest.UsageError(
                    f"{item.nodeid} is marked both slow and integration; "
                    "a test is in exactly one tier"
                )
            continue
        if REAL_MODEL_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.integration)
        if not item.get_closest_marker("integration"):
            item.add_marker(pytest.mark.fast)


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
    from sae_lens_signaware.models import load_hooked_model
    from sae_lens_signaware_cli.assets import DEFAULT_MODEL

    return load_hooked_model(DEFAULT_MODEL)


@pytest.fixture(scope="session")
def mlp_out_acts(tinystories_model) -> dict[str, torch.Tensor]:
    """Real layer-1 MLP-output activations: 64k train and 8k validation tokens."""
    from sae_lens_signaware.activations import cached_activations

    hook = "blocks.1.hook_mlp_out"
    return {
        "train": cached_activations(
            tinystories_model, hook, "train", 65_536, TINYSTORIES
        ),
        "validation": cached_activations(
            tinystories_model, hook, "validation", 8_192, TINYSTORIES
        ),
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

    return token_windows(
        tinystories_model, read_texts("validation", TINYSTORIES), 128, 4096
    )


@pytest.fixture(scope="session")
def trained(tinystories_model, tmp_path_factory) -> dict[str, Any]:
    """One 60-step run on the real model: the SAE, its step losses, its output folder."""
    tmp_path = tmp_path_factory.mktemp("trained")
    torch.manual_seed(0)
    cfg = runner_cfg(tmp_path, tokens=LEARN_TOKENS, checkpoint_path=None)
    sae, losses = run_training(cfg, override_model=tinystories_model)
    return {"sae": sae, "losses": losses, "output": Path(tmp_path / "out")}


@pytest.fixture(scope="session")
def val_tokens(tinystories_model) -> torch.Tensor:
    """Four validation contexts of 64 tokens."""
    from sae_lens_signaware.activations import read_texts, token_windows

    return token_windows(
        tinystories_model, read_texts("validation", TINYSTORIES), 64, 256
    )
