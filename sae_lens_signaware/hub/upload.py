"""Upload an SAE into a Hugging Face Hub repo, one folder per SAE.

``upload`` creates the repo if needed (``exist_ok``), exports the SAE with
:func:`sae_lens_signaware.hub.export.export` into a temporary folder, and makes
one commit that adds ``<sae_id>/cfg.json``, ``<sae_id>/sae_weights.safetensors``,
``<sae_id>/sparsity.safetensors`` (if given) and ``<sae_id>/README.md``, removes
files left in ``<sae_id>/`` by an earlier upload, and rewrites the repo's
``README.md`` to list every SAE in the repo (one upload did not write is kept,
and the upload refused, unless ``overwrite=True``). ``SAE.from_pretrained(repo_id,
sae_id)`` then loads it (after ``import sae_lens_signaware`` for signed SAEs).

Unlike SAELens's ``upload_saes_to_huggingface`` this uses ``HfApi.create_commit``
rather than ``upload_folder``: with ``hf_xet`` installed ``upload_folder`` may
split a folder over several commits, and the SAE and the card it is listed on
should land together.

Errors from the Hub are raised as :class:`HubUploadError`, naming the step
that failed (creating the repo, reading it, committing), with the token
removed from the message and the original exception (which holds the request
headers) not chained.

A commit can land and its answer be lost (the connection drops). So the commit
description carries a one-off upload id, and when ``create_commit`` fails
without an answer, or with a server error (5xx), ``upload`` looks for that id
in the repo's commits (``list_repo_commits``): found, the upload succeeded and
returns that commit (with a warning); else it raises.

The export folder is ``sae-upload-<pid>-<random>`` in ``tempfile.gettempdir()``,
removed when the upload ends; one left by a killed upload (its pid gone) is
removed, with a warning, by the next upload.
"""

import json
import logging
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import Any

import torch
from huggingface_hub import (
    CommitInfo,
    CommitOperationAdd,
    CommitOperationDelete,
    HfApi,
    get_token,
)
from sae_lens import SAE
from sae_lens.constants import SAE_CFG_FILENAME

from sae_lens_signaware.hub.card import MetricValue, SaeSummary, is_repo_card
from sae_lens_signaware.hub.export import (
    README,
    check_export_args,
    export,
    resolve_sae_id,
)

logger = logging.getLogger(__name__)

_TOKEN_LIKE = re.compile(r"hf_[A-Za-z0-9]{8,}")
REDACTED = "***"
TEMP_PREFIX = "sae-upload-"
_TEMP_FOLDER = re.compile(rf"^{re.escape(TEMP_PREFIX)}(?P<pid>\d+)-")
UPLOAD_ID_LABEL = "sae-lens-signaware upload id:"
COMMIT_STAGE = "upload the files (commit)"


class HubUploadError(RuntimeError):
    """An upload step failed on the Hub side; ``stage`` says which."""

    def __init__(self, stage: str, repo_id: str, detail: str, status_code: int | None):
        self.stage = stage
        self.repo_id = repo_id
        self.status_code = status_code
        status = f" (HTTP {status_code})" if status_code is not None else ""
        super().__init__(f"Could not {stage} for {repo_id!r}{status}: {detail}")


def scrub(text: str, secrets: list[str]) -> str:
    """``text`` with every secret, and anything shaped like a Hub token, redacted."""
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    return _TOKEN_LIKE.sub("hf_" + REDACTED, text)


def _secrets(token: str | None) -> list[str]:
    found = [t for t in (token, get_token()) if t]
    return sorted(set(found), key=len, reverse=True)


def _status(err: BaseException) -> int | None:
    return getattr(getattr(err, "response", None), "status_code", None)


def _hub_error(
    stage: str, repo_id: str, err: Exception, secrets: list[str], note: str = ""
) -> HubUploadError:
    detail = scrub(f"{type(err).__name__}: {err}{note}", secrets)
    return HubUploadError(stage, repo_id, detail, _status(err))


@contextmanager
def _stage(stage: str, repo_id: str, secrets: list[str]) -> Iterator[None]:
    try:
        yield
    except Exception as err:
        raise _hub_error(stage, repo_id, err, secrets) from None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def remove_stale_temp_folders(parent: str | Path | None = None) -> list[Path]:
    """Remove this user's ``sae-upload-<pid>-*`` folders in ``parent`` (default:
    ``tempfile.gettempdir()``) whose pid is no longer running; return them."""
    root = Path(parent if parent is not None else tempfile.gettempdir())
    removed: list[Path] = []
    try:
        entries = sorted(root.iterdir())
    except OSError:
        return removed
    for path in entries:
        match = _TEMP_FOLDER.match(path.name)
        if match is None or path.is_symlink() or not path.is_dir():
            continue
        pid = int(match["pid"])
        try:
            mine = path.stat().st_uid == os.getuid()
        except OSError:
            continue
        if pid <= 0 or not mine or _pid_alive(pid):
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
        logger.warning(
            "removed %s, the export folder of an upload (pid %d) that was killed",
            path,
            pid,
        )
    return removed


def _landed_commit(
    api: HfApi, repo_id: str, revision: str | None, upload_id: str
) -> CommitInfo | None:
    """The commit whose description holds ``upload_id``, if the repo has one."""
    for commit in api.list_repo_commits(repo_id, revision=revision):
        if upload_id in commit.message or upload_id in commit.title:
            return CommitInfo(
                commit_url=f"{api.endpoint}/{repo_id}/commit/{commit.commit_id}",
                commit_message=commit.title,
                commit_description=commit.message,
                oid=commit.commit_id,
                _endpoint=api.endpoint,
            )
    return None


def _commit(
    api: HfApi,
    repo_id: str,
    operations: list[CommitOperationAdd | CommitOperationDelete],
    message: str,
    revision: str | None,
    secrets: list[str],
) -> CommitInfo:
    """``create_commit``, checking whether a commit whose answer was lost landed."""
    upload_id = uuid.uuid4().hex
    try:
        return api.create_commit(
            repo_id,
            operations=operations,
            commit_message=message,
            commit_description=f"{UPLOAD_ID_LABEL} {upload_id}",
            revision=revision,
        )
    except Exception as err:
        status = _status(err)
        if status is not None and status < 500:
            raise _hub_error(COMMIT_STAGE, repo_id, err, secrets) from None
        try:
            landed = _landed_commit(api, repo_id, revision, upload_id)
        except Exception as check:
            note = (
                "; whether the commit landed is unknown, listing the repo's "
                f"commits failed too ({type(check).__name__}: {check})"
            )
            raise _hub_error(COMMIT_STAGE, repo_id, err, secrets, note) from None
        if landed is None:
            note = "; the commit is not in the repo's history"
            raise _hub_error(COMMIT_STAGE, repo_id, err, secrets, note) from None
        logger.warning(
            "the connection to the Hub dropped after the commit to %r landed "
            "(%s is in its history): the upload succeeded (%s)",
            repo_id,
            landed.oid,
            scrub(f"{type(err).__name__}: {err}", secrets),
        )
        return landed


def _other_saes(
    api: HfApi, repo_id: str, files: list[str], sae_id: str, revision: str | None
) -> list[SaeSummary]:
    """Summaries of the SAEs already in the repo, other than ``sae_id``."""
    found = []
    for path in files:
        parent = PurePosixPath(path).parent.as_posix()
        if PurePosixPath(path).name == SAE_CFG_FILENAME and parent not in (".", sae_id):
            local = api.hf_hub_download(repo_id, path, revision=revision)
            found.append(
                SaeSummary.from_cfg(parent, json.loads(Path(local).read_text()))
            )
    return found


def upload(
    sae: SAE[Any],
    repo_id: str,
    sae_id: str | None = None,
    *,
    private: bool = False,
    token: str | None = None,
    revision: str | None = None,
    metrics: Mapping[str, MetricValue] | None = None,
    license: str = "mit",
    neuronpedia_id: str | None = None,
    sparsity: torch.Tensor | None = None,
    base_model: str | None = None,
    commit_message: str | None = None,
    endpoint: str | None = None,
    overwrite: bool = False,
) -> CommitInfo:
    """Upload ``sae`` to ``repo_id`` under ``sae_id`` (None: its hook name; an
    empty string is refused).

    ``token`` defaults to the stored Hub token; ``revision`` (a branch) must
    exist; ``endpoint`` defaults to ``HF_ENDPOINT``. The card arguments are
    :func:`~sae_lens_signaware.hub.export.export`'s (non-finite metrics are
    left off the card; a non-finite ``sparsity`` is refused). The repo's
    ``README.md`` is rewritten to list its SAEs; one that upload did not write
    (no ``card.REPO_CARD_MARKER``) is kept, and the upload refused, unless
    ``overwrite=True``. Returns the commit: the one that landed when the
    connection dropped after it did.

    Raises:
        ValueError: a bad ``sae_id``, ``neuronpedia_id`` or ``sparsity``,
            before any request to the Hub.
        FileExistsError: the repo's ``README.md`` is not a card upload wrote,
            and ``overwrite`` is False; nothing is committed.
        HubUploadError: creating the repo, reading it or committing failed.
    """
    sae_id = resolve_sae_id(sae, sae_id)
    check_export_args(sae, neuronpedia_id, sparsity)  # before touching the Hub
    secrets = _secrets(token)
    api = HfApi(endpoint=endpoint, token=token)
    logger.info("Uploading SAE %r to %r", sae_id, repo_id)
    with _stage("create the repository", repo_id, secrets):
        api.create_repo(repo_id, private=private, exist_ok=True)
    with _stage("read the repository's files", repo_id, secrets):
        files = api.list_repo_files(repo_id, revision=revision)
        card = None
        if README in files and not overwrite:
            card = api.hf_hub_download(repo_id, README, revision=revision)
        others = _other_saes(api, repo_id, files, sae_id, revision)
    if card is not None and not is_repo_card(Path(card).read_text(errors="replace")):
        raise FileExistsError(
            f"{README} of the Hub repo {repo_id!r} is not a repository card written"
            " by upload (it lacks card.REPO_CARD_MARKER); upload rewrites it to list"
            " the SAEs: pass overwrite=True to replace it, or upload to another repo"
        )
    remove_stale_temp_folders()
    with tempfile.TemporaryDirectory(prefix=f"{TEMP_PREFIX}{os.getpid()}-") as tmp:
        folder = export(
            sae,
            tmp,
            sae_id=sae_id,
            metrics=metrics,
            license=license,
            neuronpedia_id=neuronpedia_id,
            sparsity=sparsity,
            repo_id=repo_id,
            base_model=base_model,
            other_saes=others,
        )
        adds = [
            CommitOperationAdd(f"{sae_id}/{p.relative_to(folder).as_posix()}", str(p))
            for p in sorted(folder.rglob("*"))
            if p.is_file()
        ]
        adds.append(CommitOperationAdd(README, str(Path(tmp) / README)))
        added = {op.path_in_repo for op in adds}
        stale = [
            CommitOperationDelete(path)
            for path in files
            if PurePosixPath(path).parent.as_posix() == sae_id and path not in added
        ]
        info = _commit(
            api,
            repo_id,
            [*stale, *adds],
            commit_message or f"Upload SAE {sae_id}",
            revision,
            secrets,
        )
    logger.info("Uploaded SAE %r to %r", sae_id, repo_id)
    return info
