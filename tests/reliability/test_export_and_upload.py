"""Reliability of ``hub.export`` and ``hub.upload``: bad inputs refused before any
write, files export did not write kept, leftovers of killed exports and uploads
recovered, and a commit whose answer was lost recognised as landed."""

import importlib
import logging
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import torch
from sae_lens import SAE

import tests.hub.conftest as hub_conftest
from sae_lens_signaware import SignAwareGatedSAE
from sae_lens_signaware.hub import HubUploadError, export, sae_summaries, upload
from sae_lens_signaware.hub.card import REPO_CARD_MARKER
from sae_lens_signaware.outputs import OutputLock
from tests.helpers import trained_like_sae
from tests.hub.conftest import TOKEN
from tests.hub.fake_hub import FakeHub, Repo

# the package re-exports the functions, which shadow the modules' names
upload_module = importlib.import_module("sae_lens_signaware.hub.upload")

# the loopback fake Hub and the private temporary folder fixtures
fake_hub, private_tmp = hub_conftest.fake_hub, hub_conftest.private_tmp

REPO = "someone/signed-saes"
HOOK = "blocks.1.hook_mlp_out"


def _sae(two_sided: bool = True) -> SignAwareGatedSAE:
    sae = trained_like_sae(two_sided=two_sided)
    sae.cfg.metadata.hook_name = HOOK
    return sae


def _tree(root: Path) -> dict[str, bytes]:
    """Every file and folder under ``root`` (folders as b"<dir>"), hidden ones too."""
    return {
        p.relative_to(root).as_posix(): b"<dir>" if p.is_dir() else p.read_bytes()
        for p in root.rglob("*")
    }


def _hidden(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob(".*"))


def _dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    with pytest.raises(ProcessLookupError):
        os.kill(child.pid, 0)
    return child.pid


# ----------------------------------------------------------- 1. non-finite sparsity


def test_export_refuses_non_finite_sparsity_before_writing(tmp_path: Path) -> None:
    sparsity = torch.full((16,), -2.0)
    sparsity[[1, 5]] = float("nan")
    sparsity[7] = float("-inf")  # a dead latent's log10(0)
    with pytest.raises(ValueError, match=r"sparsity has 3 non-finite value"):
        export(_sae(), tmp_path / "repo", sae_id="a", sparsity=sparsity)
    assert not (tmp_path / "repo").exists()


def test_upload_refuses_non_finite_sparsity_before_touching_the_hub(
    fake_hub: FakeHub,
) -> None:
    sparsity = torch.zeros(16)
    sparsity[0] = float("inf")
    with pytest.raises(ValueError, match=r"sparsity has 1 non-finite value"):
        upload(_sae(), REPO, "a", token=TOKEN, sparsity=sparsity)
    assert fake_hub.requests == []


# ------------------------------------------------ 2. files export did not write


def test_export_refuses_a_readme_it_did_not_write(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("# My SAEs\n\nHand-written notes.\n")
    before = _tree(tmp_path)
    with pytest.raises(FileExistsError, match="overwrite=True") as info:
        export(_sae(), tmp_path, sae_id="a")
    assert str(readme) in str(info.value)
    assert _tree(tmp_path) == before  # nothing written, not even a lock


def test_export_updates_the_repo_card_it_wrote(tmp_path: Path) -> None:
    export(_sae(), tmp_path, sae_id="a")
    card = (tmp_path / "README.md").read_text()
    assert REPO_CARD_MARKER in card and "1 SAE(s)" in card
    export(_sae(False), tmp_path, sae_id="b")
    card = (tmp_path / "README.md").read_text()
    assert REPO_CARD_MARKER in card and "2 SAE(s)" in card
    assert "[a](a/README.md)" in card and "[b](b/README.md)" in card


def test_export_updates_an_unmarked_card_of_an_earlier_version(tmp_path: Path) -> None:
    export(_sae(), tmp_path, sae_id="a")
    readme = tmp_path / "README.md"
    readme.write_text(readme.read_text().replace(REPO_CARD_MARKER + "\n\n", ""))
    assert REPO_CARD_MARKER not in readme.read_text()
    export(_sae(), tmp_path, sae_id="b")
    assert "2 SAE(s)" in readme.read_text()


def test_export_replaces_a_foreign_readme_with_overwrite(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("# My SAEs\n")
    export(_sae(), tmp_path, sae_id="a", overwrite=True)
    card = (tmp_path / "README.md").read_text()
    assert REPO_CARD_MARKER in card and "[a](a/README.md)" in card


def _repo_with_own_card(hub: FakeHub) -> Repo:
    """A Hub repo whose README.md its owner wrote."""
    repo = Repo()
    repo.files["README.md"] = b"# My model\n\nHand-written notes.\n"
    repo.commit("initial commit")
    hub.repos[REPO] = repo
    return repo


def test_upload_refuses_a_hub_readme_it_did_not_write(
    fake_hub: FakeHub, private_tmp: Path
) -> None:
    repo = _repo_with_own_card(fake_hub)
    before = (dict(repo.files), list(repo.commits))
    with pytest.raises(FileExistsError, match="overwrite=True") as info:
        upload(_sae(), REPO, "a", token=TOKEN)
    assert repr(REPO) in str(info.value) and "README.md" in str(info.value)
    assert (repo.files, repo.commits) == before  # nothing committed
    assert list(private_tmp.iterdir()) == []


def test_upload_replaces_a_hub_readme_with_overwrite(
    fake_hub: FakeHub, private_tmp: Path
) -> None:
    repo = _repo_with_own_card(fake_hub)
    upload(_sae(), REPO, "a", token=TOKEN, overwrite=True)
    card = repo.files["README.md"].decode()
    assert REPO_CARD_MARKER in card and "[a](a/README.md)" in card
    upload(_sae(False), REPO, "b", token=TOKEN)  # its own card now: no overwrite needed
    assert "2 SAE(s)" in repo.files["README.md"].decode()
    assert list(private_tmp.iterdir()) == []


def test_export_still_refuses_an_existing_sae_folder(tmp_path: Path) -> None:
    export(_sae(), tmp_path, sae_id="a")
    before = _tree(tmp_path)
    with pytest.raises(FileExistsError, match="overwrite"):
        export(_sae(False), tmp_path, sae_id="a")
    assert _tree(tmp_path) == before
    export(_sae(False), tmp_path, sae_id="a", overwrite=True)
    assert SAE.load_from_disk(tmp_path / "a").cfg.two_sided is False  # type: ignore[attr-defined]


# ------------------------------------------------ 3. leftovers of a killed export


def test_export_recovers_what_a_kill_between_the_renames_left(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = tmp_path / "repo"
    export(_sae(), root, sae_id="nested/A")
    # export A again, killed between the two renames: the old A moved aside, the
    # new one still staged, the lock file left, the card's temp file too
    parent = root / "nested"
    old, staging = parent / ".A.old-x", parent / ".A.tmp-y"
    (parent / "A").rename(old)
    staging.mkdir()
    (staging / "cfg.json").write_text("{}")
    (parent / ".A.lock").write_text(str(_dead_pid()))
    (root / ".README.md.tmp-z").write_text("half a card")
    caplog.set_level(logging.WARNING)

    export(_sae(False), root, sae_id="B")

    assert _hidden(root) == []
    assert SAE.load_from_disk(parent / "A").cfg.two_sided is True  # type: ignore[attr-defined]
    assert SAE.load_from_disk(root / "B").cfg.two_sided is False  # type: ignore[attr-defined]
    assert [s.sae_id for s in sae_summaries(root)] == ["B", "nested/A"]
    card = (root / "README.md").read_text()
    assert "2 SAE(s)" in card
    assert "[nested/A](nested/A/README.md)" in card and "[B](B/README.md)" in card
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    for leftover in (old, staging, parent / ".A.lock", root / ".README.md.tmp-z"):
        assert any(str(leftover) in w for w in warnings), leftover


def test_export_leaves_the_leftovers_of_a_live_export_alone(tmp_path: Path) -> None:
    export(_sae(), tmp_path, sae_id="A")
    staging = tmp_path / ".A.tmp-live"
    staging.mkdir()
    with OutputLock(tmp_path / "A"):  # another writer of A, still running
        export(_sae(), tmp_path, sae_id="B")
        assert staging.is_dir() and (tmp_path / ".A.lock").exists()
    export(_sae(), tmp_path, sae_id="C")  # A's writer is gone now
    assert _hidden(tmp_path) == []


def test_exports_into_one_folder_wait_for_the_card_lock(tmp_path: Path) -> None:
    export(_sae(), tmp_path, sae_id="A")
    done: list[Path] = []
    with OutputLock(tmp_path / "README.md"):  # another export writing the card
        worker = threading.Thread(
            target=lambda: done.append(export(_sae(), tmp_path, sae_id="B"))
        )
        worker.start()
        time.sleep(0.5)
        assert done == [] and not (tmp_path / "B").exists()  # staged, waiting
    worker.join(timeout=30)
    assert done == [tmp_path / "B"]
    assert "2 SAE(s)" in (tmp_path / "README.md").read_text()
    assert _hidden(tmp_path) == []


# ----------------------------------------------- 4. the folder of a killed upload


@pytest.mark.usefixtures("fake_hub")
def test_upload_removes_the_temp_folder_of_a_killed_upload(
    private_tmp: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    stale = private_tmp / f"sae-upload-{_dead_pid()}-abc123"
    (stale / "A").mkdir(parents=True)
    (stale / "A" / "sae_weights.safetensors").write_bytes(b"x" * 100)
    live = private_tmp / f"sae-upload-{os.getppid()}-def456"  # pytest's parent
    live.mkdir()
    other = private_tmp / "sae-upload-notapid"
    other.mkdir()
    folders: list[Path] = []

    def recording_export(sae: Any, folder: str | Path, **kwargs: Any) -> Path:
        folders.append(Path(folder))
        return export(sae, folder, **kwargs)

    monkeypatch.setattr(upload_module, "export", recording_export)
    caplog.set_level(logging.WARNING)
    upload(_sae(), REPO, "A", token=TOKEN)

    assert sorted(p.name for p in private_tmp.iterdir()) == [live.name, other.name]
    assert any(str(stale) in r.getMessage() for r in caplog.records)
    assert [f.parent for f in folders] == [private_tmp]
    assert folders[0].name.startswith(f"sae-upload-{os.getpid()}-")


# ------------------------------------------- 5. a connection dropped at the commit


def test_upload_succeeds_when_the_connection_drops_after_the_commit_landed(
    fake_hub: FakeHub, private_tmp: Path, caplog: pytest.LogCaptureFixture
) -> None:
    upload(_sae(), REPO, "first", token=TOKEN)
    fake_hub.drop["commit"] = "after"
    caplog.set_level(logging.WARNING)

    info = upload(_sae(False), REPO, "second", token=TOKEN)

    repo = fake_hub.repos[REPO]
    assert info.oid == repo.commits[-1].sha and len(repo.commits) == 3
    assert info.commit_url.endswith(f"/{REPO}/commit/{info.oid}")
    assert "second/cfg.json" in repo.files
    assert ("GET", f"/api/models/{REPO}/commits/main") in fake_hub.requests
    assert any("dropped after the commit" in r.getMessage() for r in caplog.records)
    assert TOKEN not in caplog.text
    assert list(private_tmp.iterdir()) == []
    del fake_hub.drop["commit"]
    loaded = SAE.from_pretrained(REPO, "second")
    assert isinstance(loaded, SignAwareGatedSAE) and loaded.cfg.two_sided is False


def test_upload_fails_when_the_connection_drops_before_the_commit_landed(
    fake_hub: FakeHub, private_tmp: Path
) -> None:
    upload(_sae(), REPO, "first", token=TOKEN)
    before = dict(fake_hub.repos[REPO].files)
    fake_hub.drop["commit"] = "before"

    with pytest.raises(HubUploadError, match="not in the repo's history") as info:
        upload(_sae(False), REPO, "second", token=TOKEN)

    assert info.value.stage == "upload the files (commit)"
    assert info.value.status_code is None
    assert fake_hub.repos[REPO].files == before
    assert ("GET", f"/api/models/{REPO}/commits/main") in fake_hub.requests
    assert list(private_tmp.iterdir()) == []


def test_upload_fails_when_the_commit_cannot_be_checked_either(
    fake_hub: FakeHub, private_tmp: Path
) -> None:
    upload(_sae(), REPO, "first", token=TOKEN)
    fake_hub.drop["commit"] = "before"
    fake_hub.fail["commits"] = 403  # not retried by huggingface_hub

    with pytest.raises(HubUploadError, match="whether the commit landed is unknown"):
        upload(_sae(False), REPO, "second", token=TOKEN)
    assert list(private_tmp.iterdir()) == []


def test_upload_does_not_check_after_a_refused_commit(fake_hub: FakeHub) -> None:
    upload(_sae(), REPO, "first", token=TOKEN)
    fake_hub.fail["commit"] = 403
    with pytest.raises(HubUploadError, match=r"\(HTTP 403\)"):
        upload(_sae(False), REPO, "second", token=TOKEN)
    assert ("GET", f"/api/models/{REPO}/commits/main") not in fake_hub.requests


# ----------------------------------------------------------------- 6. empty sae_id


def test_export_refuses_an_empty_sae_id(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="sae_id is empty"):
        export(_sae(), tmp_path / "repo", sae_id="")
    assert not (tmp_path / "repo").exists()
    assert export(_sae(), tmp_path / "repo", sae_id=None) == tmp_path / "repo" / HOOK


def test_upload_refuses_an_empty_sae_id(fake_hub: FakeHub) -> None:
    with pytest.raises(ValueError, match="sae_id is empty"):
        upload(_sae(), REPO, "", token=TOKEN)
    assert fake_hub.requests == []


# ------------------------------------------------------- 7. non-finite metrics


def test_non_finite_metrics_are_left_off_the_card(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    metrics = {"l0": 12.5, "explained_variance": float("nan"), "ce": float("inf")}
    folder = export(_sae(), tmp_path, sae_id="a", metrics=metrics)
    card = (folder / "README.md").read_text()
    assert "| l0 | 12.5 |" in card
    assert "| explained_variance |" not in card and "| ce |" not in card
    assert 'Metric "explained_variance" was not finite (nan) and is left out.' in card
    assert 'Metric "ce" was not finite (inf) and is left out.' in card
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("'explained_variance'" in w and "not finite" in w for w in warned)


def test_only_non_finite_metrics_leave_no_table(tmp_path: Path) -> None:
    folder = export(_sae(), tmp_path, sae_id="a", metrics={"ev": float("-inf")})
    section = (folder / "README.md").read_text().split("## Metrics\n\n")[1]
    section = section.split("\n## ")[0]
    assert section.strip() == 'Metric "ev" was not finite (-inf) and is left out.'
