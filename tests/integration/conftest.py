"""Fixtures of the integration tests: a short run shared by many tests."""

from pathlib import Path
from typing import Any

import pytest
import torch

from sae_lens_signaware.training import run_training
from tests.integration.configs import LEARN_TOKENS, runner_cfg


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

    return token_windows(tinystories_model, read_texts("validation"), 64, 256)
