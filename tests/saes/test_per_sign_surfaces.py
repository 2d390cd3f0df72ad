"""A per-sign SA-GSAE trained on real activations works on every surface: the
Hub export and its card, ``from_pretrained`` through a hub cache, the census,
latent reports and the dashboard, steering, ``to_jumprelu`` and the sweep."""

import json
import shutil
from pathlib import Path
from typing import Any

import huggingface_hub
import pytest
import torch
from sae_lens import SAE

from sae_lens_signaware import SignAwareGatedSAE, SignAwareGatedTrainingSAEConfig
from sae_lens_signaware.activations import read_texts
from sae_lens_signaware.analysis import compute_census, steer_latent
from sae_lens_signaware.convert import to_jumprelu
from sae_lens_signaware.dashboard import build_dashboard
from sae_lens_signaware.hub import export
from sae_lens_signaware.training import TrainSettings, train_on_cached
from tests.paths import TINYSTORIES

pytestmark = pytest.mark.integration
HOOK = "blocks.1.hook_mlp_out"


@pytest.fixture(scope="module")
def per_sign_sae(
    mlp_out_acts: dict[str, torch.Tensor], tmp_path_factory: pytest.TempPathFactory
) -> SignAwareGatedSAE:
    cfg = SignAwareGatedTrainingSAEConfig(
        d_in=128,
        d_sae=256,
        normalize_activations="expected_average_only_in",
        sign_encoders="per_sign",
        target_l0=8.0,
        threshold_init_l0=8.0,
    )
    trained, _ = train_on_cached(
        cfg, mlp_out_acts["train"], TrainSettings(n_steps=150, lr=3e-3)
    )
    trained.cfg.metadata.hook_name = HOOK
    trained.cfg.metadata.model_name = "raincandy-u/TinyStories-656K"
    trained.cfg.metadata.context_size = 128
    trained.cfg.metadata.prepend_bos = True
    folder = tmp_path_factory.mktemp("per_sign")
    trained.save_inference_model(folder)
    sae = SAE.load_from_disk(folder)
    assert isinstance(sae, SignAwareGatedSAE) and sae.per_sign
    return sae.eval()


def test_export_card_and_from_pretrained(
    per_sign_sae: SignAwareGatedSAE,
    mlp_out_acts: dict[str, torch.Tensor],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder = export(per_sign_sae, tmp_path / "repo", sae_id=HOOK)
    cfg = json.loads((folder / "cfg.json").read_text())
    assert cfg["sign_encoders"] == "per_sign"
    assert "| sign_encoders | per_sign |" in (folder / "README.md").read_text()
    # the exported folder as a Hub repo in a local hub cache, read offline
    revision = "b" * 40
    entry = tmp_path / "hub" / "models--org--signed"
    shutil.copytree(folder, entry / "snapshots" / revision / HOOK)
    (entry / "refs").mkdir()
    (entry / "refs" / "main").write_text(revision)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(
        huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub")
    )
    loaded = SAE.from_pretrained("org/signed", HOOK)
    assert isinstance(loaded, SignAwareGatedSAE) and loaded.per_sign
    x = mlp_out_acts["validation"][:1024]
    assert torch.equal(loaded(x), per_sign_sae(x))


def test_census_and_to_jumprelu_on_real_activations(
    per_sign_sae: SignAwareGatedSAE, mlp_out_acts: dict[str, torch.Tensor]
) -> None:
    x = mlp_out_acts["validation"]
    census = compute_census(per_sign_sae, x)
    summary = census.summary()
    assert summary["l0"] > 1 and summary["dead_fraction"] < 0.5
    jr = to_jumprelu(per_sign_sae)
    with torch.no_grad():
        assert torch.equal(jr.encode(x) != 0, per_sign_sae.side_acts(x) != 0)
        torch.testing.assert_close(jr(x), per_sign_sae(x), rtol=1e-4, atol=1e-3)


def test_dashboard_and_steering(
    per_sign_sae: SignAwareGatedSAE, tinystories_model: Any, tmp_path: Path
) -> None:
    texts = read_texts("validation", TINYSTORIES)[:200]
    index = build_dashboard(
        per_sign_sae,
        tinystories_model,
        tmp_path,
        texts,
        n_tokens=2048,
        top_k=2,
        steer_windows=2,
        hook_name=HOOK,
    )
    data = json.loads((index.parent / "data.json").read_text())
    assert len(data["pages"]) == 2 and data["meta"]["d_sae"] == 256
    latent = data["pages"][0]
    tokens = torch.tensor([[1, 20, 30, 40, 50, 60]])
    result = steer_latent(tinystories_model, per_sign_sae, tokens, latent, 2.0, HOOK)
    assert result["plus"]["kl"] >= 0 and result["minus"]["kl"] >= 0


def test_sweep_trains_per_sign_saes(
    tinystories_model: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sae_lens_signaware_cli import sweep
    from sae_lens_signaware_cli.cli import main

    monkeypatch.setattr(sweep, "load_model", lambda _name: tinystories_model)
    out = tmp_path / "sweep"
    main(
        ["sweep", "--targets", "8", "--d-sae", "128", "--training-tokens", "8192"]
        + ["--sae", "sign_encoders=per_sign", "--output", str(out)]
    )
    sae = SAE.load_from_disk(out / "l0_8")
    assert isinstance(sae, SignAwareGatedSAE) and sae.per_sign
