"""Loading a trained SA-GSAE back: from disk, from an (offline) Hugging Face repo."""

import shutil

import huggingface_hub.constants
import pytest
import torch
from sae_lens import SAE
from safetensors.torch import load_file

from sae_lens_signaware import SignAwareGatedSAE

pytestmark = pytest.mark.integration

FILES = ("cfg.json", "sae_weights.safetensors", "sparsity.safetensors")


@pytest.fixture(scope="module")
def acts(tinystories_model, val_tokens) -> torch.Tensor:
    _, cache = tinystories_model.run_with_cache(
        val_tokens, names_filter="blocks.1.hook_mlp_out", stop_at_layer=2
    )
    return cache["blocks.1.hook_mlp_out"]


def test_load_from_disk_matches_the_trained_sae(trained, acts) -> None:
    loaded = SAE.load_from_disk(trained["output"])
    assert isinstance(loaded, SignAwareGatedSAE)
    assert loaded.cfg.metadata.hook_name == "blocks.1.hook_mlp_out"
    training_sae = trained["sae"].eval()
    torch.testing.assert_close(loaded.encode(acts), training_sae.encode(acts))
    torch.testing.assert_close(loaded(acts), training_sae(acts))


def test_from_pretrained_reads_an_offline_hub_cache(
    trained, acts, tmp_path, monkeypatch
) -> None:
    repo, sae_id, revision = "org/repo", "blocks.1.hook_mlp_out", "a" * 40
    entry = tmp_path / "hub" / "models--org--repo"
    folder = entry / "snapshots" / revision / sae_id
    folder.mkdir(parents=True)
    for name in FILES:
        shutil.copy(trained["output"] / name, folder / name)
    (entry / "refs").mkdir()
    (entry / "refs" / "main").write_text(revision)
    # huggingface_hub reads its environment at import, so patch its constants too
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(
        huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub")
    )

    sae, cfg_dict, log_sparsity = SAE.from_pretrained_with_cfg_and_sparsity(
        repo, sae_id
    )
    assert isinstance(sae, SignAwareGatedSAE)
    assert cfg_dict["architecture"] == "sign_aware_gated"
    assert log_sparsity is not None
    expected = load_file(trained["output"] / "sparsity.safetensors")["sparsity"]
    assert torch.equal(log_sparsity, expected)
    from_disk = SAE.load_from_disk(trained["output"])
    assert torch.equal(sae.encode(acts), from_disk.encode(acts))
    assert torch.equal(sae(acts), from_disk(acts))
    assert isinstance(SAE.from_pretrained(repo, sae_id), SignAwareGatedSAE)
