"""Upload through the real ``huggingface_hub`` client to a fake Hub, load back with
``SAE.from_pretrained``, and check failures are clear and never leak the token."""

import logging
import traceback
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml
from sae_lens import SAE

from sae_lens_signaware import SignAwareGatedSAE
from sae_lens_signaware.hub import HubUploadError, upload
from sae_lens_signaware.hub.upload import scrub
from tests.helpers import trained_like_sae
from tests.hub.conftest import TOKEN
from tests.hub.fake_hub import FakeHub

REPO = "someone/signed-saes"


def _sae(two_sided: bool) -> SignAwareGatedSAE:
    sae = trained_like_sae(two_sided=two_sided)
    sae.cfg.metadata.model_name = "TinyStories-656K"
    sae.cfg.metadata.hook_name = "blocks.1.hook_mlp_out"
    return sae


def _front_matter(text: str) -> dict[str, Any]:
    assert text.startswith("---\n")
    return yaml.safe_load(text.split("---\n")[1])


def _no_token_anywhere(root: Path, *texts: str) -> None:
    for text in texts:
        assert TOKEN not in text
    for path in root.rglob("*"):
        if path.is_file():
            assert TOKEN.encode() not in path.read_bytes(), path


def test_two_saes_in_one_repo_load_back_exactly(
    fake_hub: FakeHub,
    tmp_path: Path,
    private_tmp: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    signed, one_sided = _sae(True), _sae(False)
    sparsity = torch.randn(16)
    upload(
        signed,
        REPO,
        "signed",
        token=TOKEN,
        metrics={"l0": 12.5},
        neuronpedia_id="tinystories-656k/1-sagsae",
    )
    upload(one_sided, REPO, "layer_1/one_sided", token=TOKEN, sparsity=sparsity)

    files = fake_hub.repos[REPO].files
    assert set(files) == {
        ".gitattributes",
        "README.md",
        "signed/cfg.json",
        "signed/sae_weights.safetensors",
        "signed/README.md",
        "layer_1/one_sided/cfg.json",
        "layer_1/one_sided/sae_weights.safetensors",
        "layer_1/one_sided/sparsity.safetensors",
        "layer_1/one_sided/README.md",
    }
    x = torch.randn(256, 8) * 2
    for sae_id, original in (("signed", signed), ("layer_1/one_sided", one_sided)):
        loaded, _, log_sparsity = SAE.from_pretrained_with_cfg_and_sparsity(
            REPO, sae_id
        )
        assert isinstance(loaded, SignAwareGatedSAE)
        assert loaded.cfg.two_sided == original.cfg.two_sided
        assert torch.equal(loaded.encode(x), original.encode(x))
        assert torch.equal(loaded(x), original(x))
        if sae_id == "signed":
            assert log_sparsity is None
            assert loaded.cfg.metadata.neuronpedia_id == "tinystories-656k/1-sagsae"
        else:
            assert log_sparsity is not None and torch.equal(log_sparsity, sparsity)

    readme = files["README.md"].decode()
    meta = _front_matter(readme)
    assert meta["library_name"] == "saelens" and meta["license"] == "mit"
    assert {"sae_lens", "sparse-autoencoder", "sign-aware-gated"} <= set(meta["tags"])
    assert "[signed](signed/README.md)" in readme
    assert "[layer_1/one_sided](layer_1/one_sided/README.md)" in readme
    card = files["signed/README.md"].decode()
    for snippet in (
        "pip install sae-lens-signaware",
        "import sae_lens_signaware",
        f'SAE.from_pretrained("{REPO}", "signed")',
        "| l0 | 12.5 |",
        '"neuronpedia_id": "tinystories-656k/1-sagsae"',
        '"layer": 1',
    ):
        assert snippet in card

    # a re-upload replaces the folder: the sparsity file left from before goes
    upload(one_sided, REPO, "layer_1/one_sided", token=TOKEN)
    assert "layer_1/one_sided/sparsity.safetensors" not in fake_hub.repos[REPO].files
    assert (
        "[signed](signed/README.md)" in fake_hub.repos[REPO].files["README.md"].decode()
    )

    assert list(private_tmp.iterdir()) == []
    out = capsys.readouterr()
    _no_token_anywhere(tmp_path, out.out, out.err, caplog.text)
    assert all(
        TOKEN.encode() not in data for data in fake_hub.repos[REPO].files.values()
    )


@pytest.mark.parametrize(
    ("endpoint", "stage"),
    [
        ("commit", "upload the files (commit)"),
        ("create", "create the repository"),
    ],
)
def test_failed_upload_is_clear_and_leaks_no_token(
    fake_hub: FakeHub,
    tmp_path: Path,
    private_tmp: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    endpoint: str,
    stage: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    upload(_sae(True), REPO, "first", token=TOKEN)
    before = dict(fake_hub.repos[REPO].files)
    fake_hub.fail[endpoint] = 500

    with pytest.raises(HubUploadError) as info:
        upload(_sae(False), REPO, "second", token=TOKEN)

    err = info.value
    message = str(err)
    assert err.stage == stage and err.status_code == 500 and err.repo_id == REPO
    assert message.startswith(f"Could not {stage} for '{REPO}' (HTTP 500)")
    assert (
        "Authorization: Bearer ***" in message
    )  # the server echoed it; we redacted it
    assert err.__cause__ is None and err.__suppress_context__
    assert fake_hub.repos[REPO].files == before
    assert list(private_tmp.iterdir()) == []  # the export folder went with the failure
    out = capsys.readouterr()
    shown = "".join(traceback.format_exception(err))
    _no_token_anywhere(
        tmp_path, out.out, out.err, caplog.text, message, repr(err), shown
    )


def test_wrong_token_fails_at_repo_creation(fake_hub: FakeHub) -> None:
    with pytest.raises(HubUploadError, match="Could not create the repository") as info:
        upload(_sae(True), REPO, "x", token="hf_notTheRightTokenAtAll000")
    assert "hf_notTheRightTokenAtAll000" not in str(info.value)
    assert REPO not in fake_hub.repos


def test_scrub_removes_given_and_token_shaped_secrets() -> None:
    text = f"Bearer {TOKEN} then hf_abcdefgh12345678 and my-secret"
    cleaned = scrub(text, ["my-secret"])
    assert TOKEN not in cleaned and "hf_abcdefgh12345678" not in cleaned
    assert "my-secret" not in cleaned and cleaned.count("***") == 3


def test_bad_arguments_fail_before_touching_the_hub(fake_hub: FakeHub) -> None:
    with pytest.raises(ValueError, match="neuronpedia_id"):
        upload(_sae(True), REPO, "x", token=TOKEN, neuronpedia_id="no-slash")
    with pytest.raises(ValueError, match="sae_id"):
        upload(_sae(True), REPO, "../x", token=TOKEN)
    assert fake_hub.requests == []
