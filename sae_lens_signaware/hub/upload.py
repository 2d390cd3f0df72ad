"""Upload an SAE into a Hugging Face Hub repo, one folder per SAE.

``upload`` creates the repo if needed (``exist_ok``), exports the SAE with
:func:`sae_lens_signaware.hub.export.export` into a temporary folder, and makes
one commit that adds ``<sae_id>/cfg.json``, ``<sae_id>/sae_weights.safetensors``,
``<sae_id>/sparsity.safetensors`` (if given) and ``<sae_id>/README.md``, removes
files left in ``<sae_id>/`` by an earlier upload, and rewrites the repo's
``README.md`` to list every SAE in the repo. ``SAE.from_pretrained(repo_id,
sae_id)`` then loads it (after ``import sae_lens_signaware`` for signed SAEs).

Unlike SAELens's ``upload_saes_to_huggingface`` this uses ``HfApi.create_commit``
rather than ``upload_folder``: with ``hf_xet`` installed ``upload_folder`` may
split a folder over several commits, and the SAE and the card it is listed on
should land together.

Errors from the Hub are raised as :class:`HubUploadError`, naming the step
that failed (creating the repo, reading it, committing), with the token
removed from the message and the original exception (which holds the request
headers) not chained.
"""

import json
import logging
import re
import tempfile
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

from sae_lens_signaware.hub.card import MetricValue, SaeSummary
from sae_lens_signaware.hub.export import (
    README,
    check_export_args,
    check_sae_id,
    default_sae_id,
    export,
)

logger = logging.getLogger(__name__)

_TOKEN_LIKE = re.compile(r"hf_[A-Za-z0-9]{8,}")
REDACTED = "***"


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


@contextmanager
def _stage(stage: str, repo_id: str, secrets: list[str]) -> Iterator[None]:
    try:
        yield
    except Exception as err:
        response = getattr(err, "response", None)
        status = getattr(response, "status_code", None)
        detail = scrub(f"{type(err).__name__}: {err}", secrets)
        raise HubUploadError(stage, repo_id, detail, status) from None


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
) -> CommitInfo:
    """Upload ``sae`` to ``repo_id`` under ``sae_id`` (default: its hook name).

    ``token`` defaults to the stored Hub token; ``revision`` (a branch) must
    exist; ``endpoint`` defaults to ``HF_ENDPOINT``. The card arguments are
    :func:`~sae_lens_signaware.hub.export.export`'s. Returns the commit.

    Raises:
        HubUploadError: creating the repo, reading it or committing failed.
    """
    sae_id = check_sae_id(sae_id or default_sae_id(sae))
    check_export_args(sae, neuronpedia_id, sparsity)  # before touching the Hub
    secrets = _secrets(token)
    api = HfApi(endpoint=endpoint, token=token)
    logger.info("Uploading SAE %r to %r", sae_id, repo_id)
    with _stage("create the repository", repo_id, secrets):
        api.create_repo(repo_id, private=private, exist_ok=True)
    with _stage("read the repository's files", repo_id, secrets):
        files = api.list_repo_files(repo_id, revision=revision)
        others = _other_saes(api, repo_id, files, sae_id, revision)
    with tempfile.TemporaryDirectory(prefix="sae-upload-") as tmp:
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
        with _stage("upload the files (commit)", repo_id, secrets):
            info = api.create_commit(
                repo_id,
                operations=[*stale, *adds],
                commit_message=commit_message or f"Upload SAE {sae_id}",
                revision=revision,
            )
    logger.info("Uploaded SAE %r to %r", sae_id, repo_id)
    return info
