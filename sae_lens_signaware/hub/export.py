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
export of the same SAE is refused, and the next export removes what an
interrupted one left.
"""

import json
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from sae_lens import SAE, TrainingSAE
from sae_lens.constants import SAE_CFG_FILENAME, SPARSITY_FILENAME
from safetensors.torch import save_file

from sae_lens_signaware.hub.card import MetricValue, SaeSummary, repo_card, sae_card
from sae_lens_signaware.outputs import TMP_MARK, OutputFolder

README = "README.md"
_NEURONPEDIA_ID = re.compile(r"^[^/\s]+/[^/\s]+$")


def default_sae_id(sae: SAE[Any]) -> str:
    """The hook name (SAELens's usual SAE id), or ``"sae"`` without one."""
    return sae.cfg.metadata.hook_name or "sae"


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
    if neuronpedia_id is not None and not _NEURONPEDIA_ID.match(neuronpedia_id):
        raise ValueError(
            f"neuronpedia_id must look like '<model>/<layer>-<set>', got {neuronpedia_id!r}"
        )
    if sparsity is not None and tuple(sparsity.shape) != (sae.cfg.d_sae,):
        raise ValueError(
            f"sparsity must have shape ({sae.cfg.d_sae},), got {tuple(sparsity.shape)}"
        )


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
        sae_id: the SAE's folder in the repo (``/`` nests); default: its hook name.
        metrics: name -> value rows of the model card's metrics table.
        license: the card's ``license`` (a Hub licence id).
        neuronpedia_id: ``"<model>/<layer>-<set>"``; stored in ``cfg.json``'s
            metadata (what SAELens's Neuronpedia helpers read) and on the card.
        sparsity: per-latent log10 firing rates, written as ``sparsity.safetensors``.
        repo_id: used in the cards' load snippets (placeholder if None).
        base_model: the card's ``base_model`` (a Hub model id), if any.
        overwrite: replace an existing ``folder/<sae_id>`` (else FileExistsError).
        other_saes: SAEs listed on the repository card besides those in ``folder``
            (``upload`` passes the ones already in the remote repo).

    Returns:
        The SAE's folder.
    """
    sae_id = check_sae_id(sae_id or default_sae_id(sae))
    check_export_args(sae, neuronpedia_id, sparsity)
    root = Path(folder)
    target = root / sae_id
    out = OutputFolder(target, overwrite=overwrite)
    staging = out.open()
    readme_tmp = root / f".{README}{TMP_MARK}{staging.name}"
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
        listed = {s.sae_id: s for s in [*other_saes, *sae_summaries(root)]}
        listed[sae_id] = SaeSummary.from_cfg(sae_id, cfg)
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
        readme_tmp.unlink(missing_ok=True)
        out.rollback()
        raise
    finally:
        out.close()
    return target
