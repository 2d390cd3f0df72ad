"""A small SA-GSAE trained on real activations, loaded back as an inference SAE."""

from pathlib import Path

import pytest
import torch
from sae_lens import SAE

from sae_lens_signaware import SignAwareGatedSAE, SignAwareGatedTrainingSAEConfig
from sae_lens_signaware.training import TrainSettings, train_on_cached


@pytest.fixture(scope="module")
def real_signed_sae(
    mlp_out_acts: dict[str, torch.Tensor], tmp_path_factory: pytest.TempPathFactory
) -> SignAwareGatedSAE:
    """200 steps on layer-1 MLP outputs, saved as an inference model and reloaded."""
    cfg = SignAwareGatedTrainingSAEConfig(
        d_in=128, d_sae=256, normalize_activations="expected_average_only_in"
    )
    trained, _ = train_on_cached(
        cfg, mlp_out_acts["train"], TrainSettings(n_steps=200, batch_size=1024)
    )
    folder: Path = tmp_path_factory.mktemp("signed")
    trained.save_inference_model(folder)
    sae = SAE.load_from_disk(folder)
    assert isinstance(sae, SignAwareGatedSAE)
    sae.cfg.metadata.model_name = "TinyStories-656K"
    sae.cfg.metadata.hook_name = "blocks.1.hook_mlp_out"
    sae.cfg.metadata.context_size = 64
    sae.cfg.metadata.prepend_bos = True
    return sae.eval()
