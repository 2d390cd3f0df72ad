"""Write an SAE as ``SAE.from_pretrained(repo_id, sae_id)`` reads it from a Hub repo.

For a repo id that is not in SAELens's pretrained directory, ``from_pretrained``
downloads ``<sae_id>/cfg.json``, ``<sae_id>/sae_weights.safetensors`` and, if
present, ``<sae_id>/sparsity.safetensors`` (tensor ``"sparsity"``). ``export``
writes those, a model card ``<sae_id>/README.md`` and a repository card
``README.md`` listing every SAE folder under ``folder``: a local mirror of the
repo, ready for ``upload`` or ``hf upload``.

Writes are atomic (``outputs.OutputFolder``): the SAE folder is built in a
hidden sibling folder, loaded back with ``SAE.load_from_disk`` as a check, then
renamed into place, and the repository card replaces the old one with
``os.replace``. A failure leaves ``folder`` as it was; a second concurrent
export of the same SAE is refused, while exports of different SAEs into one
folder take turns on the card (lock ``.README.md.lock``), so it lists them all.

Export replaces only what it wrote, unless ``overwrite=True``: an existing
``<sae_id>`` folder, or a ``README.md`` that is not a repository card it wrote
(``card.is_repo_card``), is refused before anything is written. Every export
first recovers what interrupted exports left anywhere under ``folder``
(``recovery.recover_leftovers``: an SAE folder moved aside is put back, the
rest removed, each with a warning).
"""

import json
import logging
import os
import re
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from sae_lens import SAE, TrainingSAE
from sae_lens.constants import SAE_CFG_FILENAME, SPARSITY_FILENAME
from safetensors.torch import save_file

from sae_lens_signaware.hub.card import (
    MetricValue,
    SaeSummary,
    finite_metrics,
    is_repo_card,
    repo_card,
    sae_card,
)
from sae_lens_signaware.hub.recovery import README, recover_leftovers
from sae_lens_signaware.outputs import (
    TMP_MARK,
    OutputExistsError,
    OutputFolder,
    OutputLock,
    OutputLockedError,
)

logger = logging.getLogger(__name__)

_NEURONPEDIA_ID = re.compile(r"^[^/\s]+/[^/\s]+$")
_CARD_PEEK_BYTES = 1 << 16  # the marker sits right after the front matter
CARD_LOCK_TIMEOUT_S = 60.0


def default_sae_id(sae: SAE[Any]) -> str:
    """The hook name (SAELens's usual SAE id), or ``"sae"`` without one."""
    return sae.cfg.metadata.hook_name or "sae"


def resolve_sae_id(sae: SAE[Any], sae_id: str | None) -> str:
    """``sae_id`` checked, or the default for None (an empty id is refused)."""
    if sae_id == "":
        raise ValueError(
            "sae_id is empty; pass a folder name, or None for the hook name"
        )
    return check_sae_id(default_sae_id(sae) if sae_id is None else sae_id)


def check_sae_id(sae_id: str) -> str:
    """A relative POSIX path with no empty, ``.``, ``..`` or hidden parts."""
    parts = sae_id.split("/")
    if not sae_id or sae_id.startswith("/") or "\\" in sae_id:
        raise ValueError(f"sae_id must be a relative POSIX path, got {sae_id!r}")
    if any(p in ("", ".", "..") or p.startswith(".") for p in parts):
        raise ValueError(
            f"sae_id parts must be non-empty and not hidden, got {sae_id!r}"
        )
    return sae_id


def sae_summaries(folder: str | Path) -> list[SaeSummary]:
    """One summary per SAE folder (a folder with a ``cfg.json``) under ``folder``."""
    root = Path(folder)
    found = []
    for cfg_path in sorted(root.rglob(SAE_CFG_FILENAME)):
        rel = cfg_path.parent.relative_to(root)
        if rel.parts and not any(p.startswith(".") for p in rel.parts):
            cfg = json.loads(cfg_path.read_text())
            found.append(SaeSummary.from_cfg(rel.as_posix(), cfg))
    return found


def _write_sae_files(
    sae: SAE[Any],
    out: Path,
    neuronpedia_id: str | None,
    sparsity: torch.Tensor | None,
) -> dict[str, Any]:
    if isinstance(sae, TrainingSAE):
        sae.save_inference_model(out)
    else:
        sae.save_model(out)
    cfg_path = out / SAE_CFG_FILENAME
    cfg = json.loads(cfg_path.read_text())
    if neuronpedia_id is not None:
        cfg.setdefault("metadata", {})["neuronpedia_id"] = neuronpedia_id
        cfg_path.write_text(json.dumps(cfg))
    if sparsity is not None:
        save_file(
            {"sparsity": sparsity.detach().float().cpu().contiguous()},
            out / SPARSITY_FILENAME,
        )
    SAE.load_from_disk(out, device="cpu")  # what from_pretrained will do, or raise now
    return cfg


def check_export_args(
    sae: SAE[Any], neuronpedia_id: str | None, sparsity: torch.Tensor | None
) -> None:
    """Raise ValueError for a malformed ``neuronpedia_id``, or a ``sparsity`` of
    the wrong shape or with NaN or inf values."""
    if neuronpedia_id is not None and not _NEURONPEDIA_ID.match(neuronpedia_id):
        raise ValueError(
            f"neuronpedia_id must look like '<model>/<layer>-<set>', got {neuronpedia_id!r}"
        )
    if sparsity is None:
        return
    if tuple(sparsity.shape) != (sae.cfg.d_sae,):
        raise ValueError(
            f"sparsity must have shape ({sae.cfg.d_sae},), got {tuple(sparsity.shape)}"
        )
    bad = int((~torch.isfinite(sparsity.detach())).sum().item())
    if bad:
        raise ValueError(
            f"sparsity has {bad} non-finite value(s) (NaN or inf) of {sparsity.numel()};"
            " it holds log10 firing rates: a dead latent's log10(0) is -inf, so add"
            " a small epsilon first (SAELens uses log10(rate + 1e-10))"
        )


def check_repo_readme(folder: str | Path, overwrite: bool) -> None:
    """Raise unless ``folder/README.md`` is missing, a repository card export
    wrote, or (with ``overwrite``) a file export may replace."""
    path = Path(folder) / README
    if not path.exists() and not path.is_symlink():
        return
    if path.is_dir():
        raise OutputExistsError(
            f"{path} is a folder; export writes the repository card there: move it"
        )
    try:
        with path.open("rb") as file:
            text = file.read(_CARD_PEEK_BYTES).decode(errors="replace")
    except OSError as error:
        if overwrite:
            return
        raise OutputExistsError(
            f"{path} cannot be read ({error.strerror}), so export cannot tell whether"
            " it wrote it; pass overwrite=True to replace it"
        ) from error
    if not overwrite and not is_repo_card(text):
        raise OutputExistsError(
            f"{path} exists and is not a repository card written by export (it"
            " lacks card.REPO_CARD_MARKER); export rewrites it to list the SAEs:"
            " move it away, or pass overwrite=True to replace it"
        )


@contextmanager
def _card_lock(folder: Path, timeout: float) -> Iterator[None]:
    """Hold ``folder``'s card lock, waiting up to ``timeout`` seconds for it."""
    lock = OutputLock(folder / README)
    deadline = time.monotonic() + timeout
    while True:
        try:
            lock.acquire()
            break
        except OutputLockedError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    try:
        yield
    finally:
        lock.release()


def export(
    sae: SAE[Any],
    folder: str | Path,
    *,
    sae_id: str | None = None,
    metrics: Mapping[str, MetricValue] | None = None,
    license: str = "mit",
    neuronpedia_id: str | None = None,
    sparsity: torch.Tensor | None = None,
    repo_id: str | None = None,
    base_model: str | None = None,
    overwrite: bool = False,
    other_saes: Sequence[SaeSummary] = (),
) -> Path:
    """Write ``sae`` to ``folder/<sae_id>/`` and refresh ``folder/README.md``.

    Args:
        sae: an inference or training SAE (a training SAE is saved as its
            inference model).
        folder: the local repository folder; several SAEs share one folder.
        sae_id: the SAE's folder in the repo (``/`` nests); None: its hook name
            (an empty string is refused).
        metrics: name -> value rows of the model card's metrics table; a value
            that is not finite (NaN, +-inf) is left out, with a note on the card
            and a logged warning.
        license: the card's ``license`` (a Hub licence id).
        neuronpedia_id: ``"<model>/<layer>-<set>"``; stored in ``cfg.json``'s
            metadata (what SAELens's Neuronpedia helpers read) and on the card.
        sparsity: per-latent log10 firing rates, written as ``sparsity.safetensors``;
            all finite.
        repo_id: used in the cards' load snippets (placeholder if None).
        base_model: the card's ``base_model`` (a Hub model id), if any.
        overwrite: replace an existing ``folder/<sae_id>``, and a ``folder/README.md``
            that export did not write (else FileExistsError, before any write).
        other_saes: SAEs listed on the repository card besides those in ``folder``
            (``upload`` passes the ones already in the remote repo).

    Returns:
        The SAE's folder.

    Raises:
        ValueError: a bad ``sae_id``, ``neuronpedia_id`` or ``sparsity``.
        FileExistsError: ``folder/<sae_id>`` or a foreign ``folder/README.md``
            exists and ``overwrite`` is False.
    """
    sae_id = resolve_sae_id(sae, sae_id)
    check_export_args(sae, neuronpedia_id, sparsity)
    root = Path(folder)
    check_repo_readme(root, overwrite)
    target = root / sae_id
    out = OutputFolder(target, overwrite=overwrite)  # checks target; writes nothing
    recover_leftovers(root)
    for name, value in finite_metrics(metrics)[1]:
        logger.warning(
            "metric %r of SAE %r is not finite (%s): left off its card",
            name,
            sae_id,
            value,
        )
    staging = out.open()
    try:
        cfg = _write_sae_files(sae, staging, neuronpedia_id, sparsity)
        card = sae_card(
            cfg,
            sae_id,
            metrics=metrics,
            license=license,
            repo_id=repo_id,
            base_model=base_model,
        )
        (staging / README).write_text(card)
        with _card_lock(root, CARD_LOCK_TIMEOUT_S):
            check_repo_readme(root, overwrite)  # again, under the lock
            listed = {s.sae_id: s for s in [*other_saes, *sae_summaries(root)]}
            listed[sae_id] = SaeSummary.from_cfg(sae_id, cfg)
            readme_tmp = root / f".{README}{TMP_MARK}{uuid.uuid4().hex}"
            try:
                readme_tmp.write_text(
                    repo_card(
                        list(listed.values()),
                        license=license,
                        repo_id=repo_id,
                        base_model=base_model,
                    )
                )
                out.publish()
                os.replace(readme_tmp, root / README)
            except BaseException:
                out.rollback()  # under the lock: no other card lists it meanwhile
                raise
            finally:
                readme_tmp.unlink(missing_ok=True)
    except BaseException:
        out.rollback()
        raise
    finally:
        out.close()
    return target
