"""``export`` writes a local repo folder that SAELens loads, atomically."""

import importlib
import json
from pathlib import Path

import pytest
import torch
import yaml
from sae_lens import SAE

from sae_lens_signaware import SignAwareGatedSAE
from sae_lens_signaware.hub import export, sae_summaries
from tests.helpers import copy_into_training, trained_like_sae, training_cfg

# the package re-exports the function ``export``, which shadows the module's name
export_module = importlib.import_module("sae_lens_signaware.hub.export")


def _tree(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in root.rglob("*")
        if p.is_file()
    }


def test_folder_layout_cards_and_round_trip(tmp_path: Path) -> None:
    sae = trained_like_sae()
    sae.cfg.metadata.hook_name = "blocks.1.hook_mlp_out"
    sae.cfg.metadata.training_architecture_details = {
        "sparsity": "l0",
        "bandwidth": 0.1,
    }
    target = export(sae, tmp_path, metrics={"explained_variance": 0.875, "l0": 16})
    other = export(
        trained_like_sae(two_sided=False), tmp_path, sae_id="width_16/one_sided"
    )

    assert target == tmp_path / "blocks.1.hook_mlp_out"
    assert sorted(p.name for p in target.iterdir()) == [
        "README.md",
        "cfg.json",
        "sae_weights.safetensors",
    ]
    assert [s.sae_id for s in sae_summaries(tmp_path)] == [
        "blocks.1.hook_mlp_out",
        "width_16/one_sided",
    ]
    x = torch.randn(64, 8)
    for folder, original in ((target, sae), (other, None)):
        loaded = SAE.load_from_disk(folder)
        assert isinstance(loaded, SignAwareGatedSAE)
        if original is not None:
            assert torch.equal(loaded(x), original(x))

    card = (target / "README.md").read_text()
    front = yaml.safe_load(card.split("---\n")[1])
    assert front == {
        "library_name": "saelens",
        "license": "mit",
        "tags": ["sae_lens", "sparse-autoencoder", "sign-aware-gated"],
    }
    for snippet in (
        "## Metrics",
        "| explained_variance | 0.875 |",
        "| l0 | 16 |",
        "## Training configuration",
        "| sparsity | l0 |",
        "| bandwidth | 0.1 |",
        "## Neuronpedia",
        '"d_sae": 16',
        '"architecture": "sign_aware_gated"',
        "to_jumprelu",
        'SAE.from_pretrained("<repo_id>", "blocks.1.hook_mlp_out")',
    ):
        assert snippet in card, snippet
    repo_readme = (tmp_path / "README.md").read_text()
    assert "2 SAE(s)" in repo_readme and "[width_16/one_sided]" in repo_readme
    assert not [p for p in tmp_path.rglob(".*")]  # no temporary leftovers


def test_training_sae_is_exported_as_its_inference_model(tmp_path: Path) -> None:
    sae = trained_like_sae()
    training = copy_into_training(sae, training_cfg())
    folder = export(
        training,
        tmp_path,
        sae_id="trained",
        neuronpedia_id="m/1-set",
        sparsity=torch.zeros(16),
    )
    cfg = json.loads((folder / "cfg.json").read_text())
    assert cfg["metadata"]["neuronpedia_id"] == "m/1-set"
    assert cfg["metadata"]["training_architecture_details"]["tie_thresholds"] is True
    loaded = SAE.load_from_disk(folder)
    x = torch.randn(64, 8)
    assert torch.equal(loaded(x), training(x))
    assert "| tie_thresholds | True |" in (folder / "README.md").read_text()


def test_bad_arguments_write_nothing(tmp_path: Path) -> None:
    sae = trained_like_sae()
    for kwargs in (
        {"sae_id": "../up"},
        {"sae_id": "/abs"},
        {"sae_id": "a/.hidden"},
        {"neuronpedia_id": "no-slash"},
        {"sparsity": torch.zeros(3)},
    ):
        with pytest.raises(ValueError):
            export(sae, tmp_path / "repo", **kwargs)  # type: ignore[arg-type]
    assert not (tmp_path / "repo").exists() or _tree(tmp_path / "repo") == {}
    export(sae, tmp_path / "repo", sae_id="a")
    with pytest.raises(FileExistsError):
        export(sae, tmp_path / "repo", sae_id="a")


@pytest.mark.parametrize("where", ["card", "swap"])
@pytest.mark.parametrize("overwrite", [False, True])
def test_failure_midway_leaves_the_folder_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, overwrite: bool, where: str
) -> None:
    export(trained_like_sae(), tmp_path, sae_id="kept")
    before = _tree(tmp_path)

    def broken(*_args: object, **_kwargs: object) -> str:
        raise OSError("disk full")

    if where == "card":  # before anything is moved into place
        monkeypatch.setattr(export_module, "repo_card", broken)
    else:  # after the SAE folder is in place, when the repo card replaces the old one
        monkeypatch.setattr(export_module.os, "replace", broken)
    sae_id = "kept" if overwrite else "new/nested"
    with pytest.raises(OSError, match="disk full"):
        export(trained_like_sae(), tmp_path, sae_id=sae_id, overwrite=overwrite)
    assert _tree(tmp_path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["README.md", "kept"]
