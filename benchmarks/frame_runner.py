"""Run the frame's training runs, one process per run slot (``--jobs``).

Each run is a ``Job`` (cell, architecture, target L0, budget, lr, seed). A
pool of worker processes, one torch thread each, takes jobs in order; each
worker reads a cell's activation caches with ``torch.load(mmap=True)`` (the
pages are shared between workers), trains with SAELens's trainer on its
device (``cpu`` or ``cuda``), measures the run (``measure_run``) and returns
its row; the main process appends each row to the runs file as it comes, so
an interrupted frame resumes where it stopped.
"""

import json
import os
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import torch
from quality_archs import (
    BATCH,
    cache_path,
    frame_config,
    frame_model,
    frame_settings,
    split_validation,
    to_inference,
)

from sae_lens_signaware.analysis.census import compute_census
from sae_lens_signaware.analysis.sign_diagnosis import antipodal_shares, sign_diagnosis
from sae_lens_signaware.evaluation import ce_loss_score, reconstruction_metrics
from sae_lens_signaware.saes import SignAwareGatedSAE
from sae_lens_signaware.training import train_on_cached
from signaware_studies.baselines import Arch
from signaware_studies.comparison.compare import CompareSettings

#: validation tokens of the CE loss score (whole 128-token windows)
CE_TOKENS = 32_768


@dataclass(frozen=True)
class Job:
    cell: str
    arch: str
    target: float
    budget: int
    lr: float
    seed: int = 0

    def key(self) -> tuple[str, str, float, int, float, int]:
        return (self.cell, self.arch, self.target, self.budget, self.lr, self.seed)


def row_key(row: dict[str, Any]) -> tuple[str, str, float, int, float, int]:
    return (
        row["cell"],
        row["arch"],
        float(row["target"]),
        int(row["budget"]),
        float(row["lr"]),
        int(row.get("seed", 0)),
    )


def per_sign_stats(sae: SignAwareGatedSAE, acts: torch.Tensor) -> dict[str, float]:
    """What a per-sign SAE's sides do on ``acts``: the L0 counted in open sides
    (``l0_sides``, what its JumpReLU export counts), how often both sides of a
    latent fire on one token, and the median cosine of its two encoder columns."""
    with torch.no_grad():
        sides = torch.cat([sae.side_acts(a) for a in acts.split(8192)]) != 0
        pos, neg = sides.chunk(2, dim=-1)
        cos = torch.nn.functional.cosine_similarity(sae.W_enc, sae.W_enc_neg, dim=0)
    return {
        "l0_sides": float(sides.float().sum(-1).mean()),
        "both_sides_per_token": float((pos & neg).float().sum(-1).mean()),
        "encoder_cos_median": float(cos.median()),
    }


def measure_run(
    arch: Arch,
    sae: Any,
    select: torch.Tensor,
    report: torch.Tensor,
    ce: Callable[[Any], dict[str, float]] | None,
) -> dict[str, Any]:
    """The row's measurements of a trained SAE (inference form) on the report
    half: reconstruction and census, CE loss score, the sign diagnosis of a
    signed SAE, and the sides of a per-sign one (its ``l0`` is then ``l0_sides``)."""
    row: dict[str, Any] = {
        "select_ev": reconstruction_metrics(sae, select)["explained_variance"],
        **reconstruction_metrics(sae, report),
    }
    if ce is not None:
        row.update(ce(sae))
    row.update(antipodal_shares(sae, report))
    if arch.signed:
        row.update(sign_diagnosis(sae, report))
        census = compute_census(sae, report)
        row["diag_rarer_share_mean"] = float(
            torch.minimum(census.n_pos, census.n_neg)[census.alive].double().sum()
            / census.n_fired.sum().clamp(min=1)
        )
    if isinstance(sae, SignAwareGatedSAE) and sae.per_sign:
        row.update(per_sign_stats(sae, report))
        row["l0_latents"] = row["l0"]
        row["l0"] = row["l0_sides"]  # each open side counts, as in its export
    return row


class _Worker:
    """One worker process's state: the activations and model of the last cell."""

    def __init__(self, cache_dir: Path, device: str) -> None:
        torch.set_num_threads(1)
        self.cache_dir = cache_dir
        self.device = device
        self.cell: str | None = None
        self.data: dict[str, Any] = {}

    def load(self, cell: str) -> dict[str, Any]:
        if cell == self.cell:
            return self.data
        train = torch.load(cache_path(self.cache_dir, cell, "train"), mmap=True)
        val = torch.load(cache_path(self.cache_dir, cell, "validation"), mmap=True)
        select, report = split_validation(val)
        model, windows = frame_model(self.device, CE_TOKENS)
        self.cell = cell
        self.data = {
            "train": train.to(self.device) if self.device != "cpu" else train,
            "select": select.to(self.device),
            "report": report.to(self.device),
            "model": model,
            "windows": windows.to(self.device),
            "hook": CompareSettings().hook(cell),
        }
        return self.data

    def run(self, job: Job, arch: Arch) -> dict[str, Any]:
        data = self.load(job.cell)
        train = data["train"]
        d_in = train.shape[1]
        settings = frame_settings(job.budget, job.lr, job.seed, self.device)
        n_steps = settings.n_steps
        cfg = frame_config(arch, d_in, job.target)
        trained, seconds = train_on_cached(
            cfg, train, settings, l0_target=arch.l0_target(job.target)
        )
        sae = to_inference(trained)

        def ce(s: Any) -> dict[str, float]:
            return ce_loss_score(data["model"], s, data["windows"], data["hook"])

        return {
            "cell": job.cell,
            "hook": data["hook"],
            "arch": arch.name,
            "label": arch.label,
            "width": arch.width,
            "target": job.target,
            "lr": job.lr,
            "budget": job.budget,
            "n_steps": n_steps,
            "passes": n_steps * BATCH / train.shape[0],
            "seed": job.seed,
            "d_sae": cfg.d_sae,
            "device": self.device,
            **measure_run(arch, sae, data["select"], data["report"], ce),
            "train_seconds": seconds,
        }


_WORKER: _Worker | None = None


_ARCHS: dict[str, Arch] = {}


def _init_worker(
    cache_dir: str, devices: Sequence[str], archs: tuple[str, tuple[str, ...]]
) -> None:
    global _WORKER
    os.environ["TQDM_DISABLE"] = "1"  # one line per run from the main process
    from quality_archs import frame_archs

    _ARCHS.update(frame_archs(*archs))
    ident = get_context().current_process()._identity  # noqa: SLF001
    index = (ident[0] - 1) if ident else 0
    _WORKER = _Worker(Path(cache_dir), devices[index % len(devices)])


def _run_job(job: Job) -> dict[str, Any]:
    assert _WORKER is not None
    start = time.perf_counter()
    row = _WORKER.run(job, _ARCHS[job.arch])
    row["wall_seconds"] = time.perf_counter() - start
    return row


def run_jobs(
    jobs: Sequence[Job],
    archs: dict[str, Arch],
    out: Path,
    cache_dir: Path,
    n_jobs: int = 1,
    devices: Sequence[str] = ("cpu",),
    deadline: float | None = None,
    frame: tuple[str, tuple[str, ...]] = ("issue10", ()),
) -> Iterator[dict[str, Any]]:
    """Run ``jobs`` (their ``arch`` names in ``archs``, which the workers rebuild
    from ``frame``: the frame's name and its variant specs) on ``n_jobs`` worker
    processes (worker ``i`` on ``devices[i % len(devices)]``), appending each
    row to ``out`` as it finishes; no new job starts after ``deadline``."""
    out.parent.mkdir(parents=True, exist_ok=True)
    pending = list(jobs)
    context = get_context("spawn")
    with ProcessPoolExecutor(
        max_workers=n_jobs,
        mp_context=context,
        initializer=_init_worker,
        initargs=(str(cache_dir), list(devices), frame),
    ) as pool:
        running: dict[Future[dict[str, Any]], Job] = {}
        while pending or running:
            while pending and len(running) < n_jobs:
                if deadline is not None and time.time() > deadline:
                    pending.clear()
                    break
                job = pending.pop(0)
                assert job.arch in archs, job.arch
                running[pool.submit(_run_job, job)] = job
            if not running:
                break
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                job = running.pop(future)
                try:
                    row = future.result()
                except Exception as error:  # noqa: BLE001 (report and go on)
                    print(f"[frame] FAILED {asdict(job)}: {error!r}", flush=True)
                    continue
                with open(out, "a") as f:
                    f.write(json.dumps(row) + "\n")
                    f.flush()
                    os.fsync(f.fileno())
                yield row
