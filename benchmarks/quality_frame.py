"""Issue 10's fair frame: each architecture at its own best learning rate, selected
on one half of the validation tokens and reported on the other.

    python benchmarks/quality_frame.py [--cells mlp_out] [--targets 8 16]
        [--budgets 1000000] [--lrs 3e-4 1e-3 3e-3] [--archs sa_gsae,...]
        [--seeds 0] [--save-dir DIR] [--variant NAME=field:json,...]
        [--out docs/results/quality/runs.jsonl] [--table-only]

Every run: SAELens's trainer on cached activations of layer 1 of
TinyStories-656K (``comparison.compare.load_cell``'s cells), ``b_dec`` at the
training mean, batches of 1024 tokens, a linear lr warm-up over the first 5%
of steps and a linear decay to 0 over the last 20% (the same for every
architecture), seed 0. The training cache holds ``TRAIN_TOKENS`` tokens (all
the training text); a budget larger than that repeats it (``passes`` in each
row). Validation: the first 100k validation tokens, cut at a window boundary
into a *select* half (the first) and a *report* half (the second). Each
architecture is trained at every lr of ``--lrs``; the table shows, per
(cell, target, budget), the run whose select-half EV is highest, with its
report-half numbers. Every SAE is evaluated in its inference form
(``process_state_dict_for_saving_inference``: BatchTopK as SAELens's JumpReLU
with the fitted threshold, the SA-GSAE as its Bi-Jump-ReLU).

Signed SAEs also get the sign diagnosis (``sign_diagnosis``) on the report
half: how their L0 and reconstruction energy split between each latent's
majority and rarer sign, and what the rarer-sign firings buy in explained
variance compared with the same number of the weakest firings.

Seed 0 selects the lr; ``--seeds 1 2`` with ``--lrs`` at the selected lr adds
seeds, summarised (mean, range, verdicts on the means) by ``print_seeds``.
``--save-dir`` keeps each trained SAE (inference form) for
``benchmarks/consolidation.py``.

Resumable: a (cell, arch, target, budget, lr, seed) already in ``--out`` is skipped.
Rows of other settings (``--variant`` names a training option under test) are
kept apart by their ``arch`` name.
"""

import argparse
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from sae_lens import (
    BatchTopKTrainingSAEConfig,
    TopKTrainingSAEConfig,
)
from sae_lens.saes.abstopk_sae import AbsTopKTrainingSAEConfig
from sae_lens.saes.sae import SAE, TrainingSAE, TrainingSAEConfig

from sae_lens_signaware.analysis.census import compute_census
from sae_lens_signaware.assets import DEFAULT_MODEL, use_offline_hub
from sae_lens_signaware.comparison.baselines import sa_variant
from sae_lens_signaware.comparison.compare import NORMALIZE, CompareSettings, read_rows
from sae_lens_signaware.evaluation import reconstruction_metrics
from sae_lens_signaware.training import TrainSettings, train_on_cached

TRAIN_TOKENS = 3_000_000  # more than the training text holds: the cache takes all
VAL_TOKENS = 100_000
BATCH = 1024
WIDTH_MULTIPLIER = 4  # H = 4 x d_model = 512
MakeConfig = Callable[[int, int, float], TrainingSAEConfig]


def _k(target: float) -> int:
    return max(1, round(target))


@dataclass(frozen=True)
class FrameArch:
    name: str
    label: str
    width: int  # in units of H
    signed: bool
    make: MakeConfig


def _sa(**overrides: Any) -> MakeConfig:
    maker = sa_variant(**overrides)
    return lambda d_in, d_sae, t: maker(d_in, d_sae, t, normalize_activations=NORMALIZE)


def _topk(d_in: int, d_sae: int, t: float) -> TrainingSAEConfig:
    return TopKTrainingSAEConfig(
        d_in=d_in, d_sae=d_sae, k=_k(t), normalize_activations=NORMALIZE
    )


def _batchtopk(d_in: int, d_sae: int, t: float) -> TrainingSAEConfig:
    return BatchTopKTrainingSAEConfig(
        d_in=d_in, d_sae=d_sae, k=_k(t), normalize_activations=NORMALIZE
    )


def _abstopk(d_in: int, d_sae: int, t: float) -> TrainingSAEConfig:
    return AbsTopKTrainingSAEConfig(
        d_in=d_in, d_sae=d_sae, k=_k(t), normalize_activations=NORMALIZE
    )


FRAME_ARCHS: dict[str, FrameArch] = {
    a.name: a
    for a in [
        FrameArch("sa_gsae", "SA-GSAE (H)", 1, True, _sa()),
        FrameArch("sa_one_sided", "SA one-sided (H)", 1, False, _sa(two_sided=False)),
        FrameArch("abstopk", "AbsTopK (H)", 1, True, _abstopk),
        FrameArch("topk_h", "TopK (H)", 1, False, _topk),
        FrameArch("topk_2h", "TopK (2H)", 2, False, _topk),
        FrameArch("batchtopk_h", "BatchTopK (H)", 1, False, _batchtopk),
        FrameArch("batchtopk_2h", "BatchTopK (2H)", 2, False, _batchtopk),
    ]
}
#: training options under test (``--variant NAME=field:value,...``) join as archs


def to_inference(sae: TrainingSAE[Any]) -> SAE[Any]:
    """The SAE as SAELens saves it for inference (BatchTopK -> JumpReLU, ...)."""
    state = {k: v.detach().clone() for k, v in sae.state_dict().items()}
    sae.process_state_dict_for_saving_inference(state)
    inference = SAE.from_dict(sae.cfg.get_inference_sae_cfg_dict())
    inference.load_state_dict(state)
    return inference.eval()


@torch.no_grad()
def sign_diagnosis(sae: SAE[Any], acts: torch.Tensor) -> dict[str, float]:
    """Where a signed SAE spends its L0 (``diag_`` keys), on ``acts``.

    Per latent, the *rarer* sign is the one with fewer firings on ``acts``.
    ``diag_l0_rarer``: rarer-sign firings per token; ``diag_energy_rarer``: their
    share of the reconstruction energy ``sum ||f_ti d_i||^2``;
    ``diag_ev_without_rarer``: EV with the rarer-sign firings zeroed;
    ``diag_ev_without_weakest``: EV with the same number of the weakest firings
    (smallest ``|f_ti| ||d_i||``) zeroed instead; ``diag_ev``: EV as is.
    ``diag_rarer_cos``: mean over latents with both signs (>= 10 firings each)
    of the cosine between the mean input where the latent fires positive and
    the mean input where it fires negative, each minus the overall input mean
    (-1: the two signs see opposite inputs, one axis; 0: unrelated).
    """
    f = sae.encode(acts)
    total_var = (acts - acts.mean(0)).pow(2).sum()

    def ev(feats: torch.Tensor) -> float:
        return float(1 - (sae.decode(feats) - acts).pow(2).sum() / total_var)

    n_pos, n_neg = (f > 0).sum(0), (f < 0).sum(0)
    rarer_is_neg = n_neg <= n_pos
    rarer = torch.where(rarer_is_neg, f < 0, f > 0)
    n_rarer = int(rarer.sum())
    norms = sae.W_dec.norm(dim=-1)
    strength = f.abs() * norms
    energy = strength.pow(2)
    fired = f != 0
    weakest = torch.zeros_like(fired)
    if n_rarer:
        values = torch.where(fired, strength, torch.inf).flatten()
        idx = torch.topk(values, n_rarer, largest=False).indices
        weakest.view(-1)[idx] = True
    centred = acts - acts.mean(0)
    both = (n_pos >= 10) & (n_neg >= 10)
    mean_pos = (f > 0).T.float() @ centred / n_pos.clamp(min=1)[:, None]
    mean_neg = (f < 0).T.float() @ centred / n_neg.clamp(min=1)[:, None]
    cos = torch.nn.functional.cosine_similarity(mean_pos, mean_neg, dim=-1)
    return {
        "diag_ev": ev(f),
        "diag_l0": float(fired.sum()) / acts.shape[0],
        "diag_l0_rarer": n_rarer / acts.shape[0],
        "diag_energy_rarer": float(energy[rarer].sum() / energy.sum()),
        "diag_ev_without_rarer": ev(torch.where(rarer, 0.0, f)),
        "diag_ev_without_weakest": ev(torch.where(weakest, 0.0, f)),
        "diag_rarer_cos": float(cos[both].mean()) if both.any() else float("nan"),
        "diag_latents_both_10": int(both.sum()),
    }


@torch.no_grad()
def antipodal_shares(sae: SAE[Any], acts: torch.Tensor) -> dict[str, float]:
    """Share of live latents whose decoder direction has another live latent's
    direction at cosine below -0.5 / -0.7 (``diag_antipodal_05`` / ``_07``).

    For a non-negative SAE at 2H this counts the antipodal pairs (+v, -v) that a
    signed latent could absorb into one; for a signed SAE it counts directions it
    holds twice. Random directions in d = 128 have cosines of about +-0.09
    (one standard deviation), so -0.5 is far beyond chance and -0.7 is a
    near-exact pair."""
    alive = torch.zeros(sae.cfg.d_sae, dtype=torch.bool)
    for start in range(0, acts.shape[0], 8192):
        alive |= (sae.encode(acts[start : start + 8192]) != 0).any(0)
    d = torch.nn.functional.normalize(sae.W_dec[alive], dim=-1)
    cos = d @ d.T
    cos.fill_diagonal_(1.0)
    lowest = cos.min(dim=-1).values
    n = max(int(alive.sum()), 1)
    return {
        "diag_antipodal_05": float((lowest < -0.5).sum()) / n,
        "diag_antipodal_07": float((lowest < -0.7).sum()) / n,
    }


def split_validation(val: torch.Tensor, context: int = 128) -> tuple[torch.Tensor, ...]:
    """``(select, report)``: the two halves, cut at a window boundary."""
    cut = (val.shape[0] // context // 2) * context
    return val[:cut], val[cut:]


def train_frame(
    arch: FrameArch,
    target: float,
    lr: float,
    budget: int,
    train: torch.Tensor,
    select: torch.Tensor,
    report: torch.Tensor,
    seed: int = 0,
    save_to: Path | None = None,
) -> dict[str, Any]:
    """Train one run and measure it; ``save_to``: also save the inference SAE
    there (``SAE.save_model``'s folder: ``cfg.json`` and safetensors)."""
    d_in = train.shape[1]
    d_sae = arch.width * WIDTH_MULTIPLIER * d_in
    n_steps = budget // BATCH
    settings = TrainSettings(
        n_steps=n_steps,
        batch_size=BATCH,
        lr=lr,
        seed=seed,
        lr_warm_up_steps=max(1, n_steps // 20),
        lr_decay_steps=n_steps // 5,
        b_dec_init="mean",
    )
    sae, seconds = train_on_cached(arch.make(d_in, d_sae, target), train, settings)
    inference = to_inference(sae)
    if save_to is not None:
        inference.save_model(save_to)
    row: dict[str, Any] = {
        "arch": arch.name,
        "label": arch.label,
        "target": target,
        "lr": lr,
        "budget": budget,
        "n_steps": n_steps,
        "passes": n_steps * BATCH / train.shape[0],
        "seed": seed,
        "d_sae": d_sae,
        "select_ev": reconstruction_metrics(inference, select)["explained_variance"],
        **reconstruction_metrics(inference, report),
        "train_seconds": seconds,
    }
    row.update(antipodal_shares(inference, report))
    if arch.signed:
        row.update(sign_diagnosis(inference, report))
        census = compute_census(inference, report)
        row["diag_rarer_share_mean"] = float(
            torch.minimum(census.n_pos, census.n_neg)[census.alive].double().sum()
            / census.n_fired.sum()
        )
    return row


def parse_variant(spec: str) -> FrameArch:
    """``NAME=field:value,field:value``: the SA-GSAE with those config overrides."""
    name, _, rest = spec.partition("=")
    overrides: dict[str, Any] = {}
    for item in filter(None, rest.split(",")):
        key, _, value = item.partition(":")
        overrides[key] = json.loads(value)
    return FrameArch(name, f"SA-GSAE {name} (H)", 1, True, _sa(**overrides))


Key = tuple[str, str, float, int]


def best_rows(
    rows: list[dict[str, Any]], max_dead: float | None = None
) -> dict[Key, dict[str, Any]]:
    """Per (cell, arch, target, budget), the seed-0 run with the highest
    select-half EV (other seeds rerun the selected lr: ``print_seeds``).

    ``max_dead``: choose only among runs whose dead fraction is at most this;
    where no lr qualifies, the run with the fewest dead latents."""

    def rank(r: dict[str, Any]) -> tuple[bool, float]:
        if max_dead is None:
            return True, r["select_ev"]
        ok = r["dead_fraction"] <= max_dead
        return ok, r["select_ev"] if ok else -r["dead_fraction"]

    best: dict[Key, dict[str, Any]] = {}
    for r in rows:
        if int(r.get("seed", 0)) != 0:
            continue
        key = (r["cell"], r["arch"], float(r["target"]), int(r["budget"]))
        if key not in best or rank(r) > rank(best[key]):
            best[key] = r
    return best


def lrs_done(rows: list[dict[str, Any]], key: Key) -> list[float]:
    return sorted(
        float(r["lr"])
        for r in rows
        if (r["cell"], r["arch"], float(r["target"]), int(r["budget"])) == key
        and int(r.get("seed", 0)) == 0
    )


def _in_frame(arch: str) -> bool:
    """The frame's architectures and the SA-GSAE at its earlier defaults (the
    diagnosis tables leave out ``--variant`` runs; their rows keep the keys)."""
    return arch in FRAME_ARCHS or arch.endswith("_v1")


BAR = (
    ("abstopk", 0.0),
    ("sa_one_sided", 0.0),
    ("topk_2h", -0.01),
)


def print_tables(rows: list[dict[str, Any]], lrs: list[float]) -> None:
    best = best_rows(rows)
    groups = sorted({(k[0], k[2], k[3]) for k in best})
    archs = list(dict.fromkeys(r["arch"] for r in rows))
    for cell, target, budget in groups:
        passes = next(
            r["passes"]
            for r in rows
            if (r["cell"], float(r["target"]), int(r["budget"]))
            == (cell, target, budget)
        )
        print(
            f"\n### {cell}, target L0 {target:g}, {budget / 1e6:g}M tokens "
            f"({passes:.2f} passes)\n"
        )
        print(
            "| architecture | best lr (of tried) | L0 | EV select | EV report | "
            "dead | both signs (of live) |\n|---|---|---|---|---|---|---|"
        )
        for arch in archs:
            r = best.get((cell, arch, target, budget))
            if r is None:
                continue
            tried = lrs_done(rows, (cell, arch, target, budget))
            mark = "" if len(tried) == len(lrs) else f", {len(tried)}/{len(lrs)} lrs"
            print(
                f"| {r['label']} | {r['lr']:g} ({mark.lstrip(', ') or 'all'}) | "
                f"{r['l0']:.1f} | {r['select_ev']:.3f} | "
                f"{r['explained_variance']:.3f} | {r['dead_fraction']:.3f} | "
                f"{r['both_signs_share_of_live']:.2f} |"
            )
        sa = best.get((cell, "sa_gsae", target, budget))
        if sa is None:
            continue
        for other, margin in BAR:
            o = best.get((cell, other, target, budget))
            if o is None:
                continue
            diff = sa["explained_variance"] - o["explained_variance"]
            ok = diff >= margin
            print(
                f"VERDICT {cell} T={target:g} {budget / 1e6:g}M: SA-GSAE(H) - "
                f"{o['label']} = {diff:+.3f} (bar >= {margin:+.2f}): "
                f"{'MET' if ok else f'MISSED by {margin - diff:.3f}'}"
            )
        dead_ok = sa["dead_fraction"] <= 0.01
        both_ok = sa["both_signs_share_of_live"] >= 0.5
        print(
            f"VERDICT {cell} T={target:g} {budget / 1e6:g}M: SA-GSAE(H) dead "
            f"{sa['dead_fraction']:.3f} (<= 0.01: {'MET' if dead_ok else 'MISSED'}), "
            f"both signs {sa['both_signs_share_of_live']:.2f} of live "
            f"(>= 0.5: {'MET' if both_ok else 'MISSED'})"
        )
    diag = [r for r in best.values() if "diag_ev" in r and _in_frame(r["arch"])]
    if diag:
        print(
            "\n### Sign diagnosis (report half, best-lr runs)\n\n"
            "| cell | T | budget | arch | L0 | L0 rarer sign | energy rarer | "
            "EV | EV w/o rarer | EV w/o as many weakest | cos(mean x+, mean x-) |\n"
            "|---|---|---|---|---|---|---|---|---|---|---|"
        )
        for r in sorted(
            diag, key=lambda r: (r["cell"], r["target"], r["budget"], r["arch"])
        ):
            print(
                f"| {r['cell']} | {r['target']:g} | {r['budget'] / 1e6:g}M | "
                f"{r['label']} | {r['diag_l0']:.2f} | {r['diag_l0_rarer']:.2f} | "
                f"{r['diag_energy_rarer']:.3f} | {r['diag_ev']:.3f} | "
                f"{r['diag_ev_without_rarer']:.3f} | "
                f"{r['diag_ev_without_weakest']:.3f} | {r['diag_rarer_cos']:+.2f} |"
            )


def print_bar_matrix(rows: list[dict[str, Any]], max_dead: float | None = None) -> None:
    """One line per (cell, target, budget): the SA-GSAE's EV at its selected lr
    and its margin over each architecture of the bar (bold when the bar is met);
    ``max_dead`` as in ``best_rows``, for every architecture alike."""
    best = best_rows(rows, max_dead)
    groups = sorted({(k[0], k[2], k[3]) for k in best if k[1] == "sa_gsae"})
    others = [o for o, _ in BAR]
    labels = [FRAME_ARCHS[o].label for o in others]
    how = (
        "" if max_dead is None else f", lr chosen among runs with dead <= {max_dead:g}"
    )
    print(
        f"\n### The bar at a glance (seed 0, each architecture at its selected lr{how})\n\n"
        "| cell | T | budget | SA-GSAE (H) EV | "
        + " | ".join(f"minus {label}" for label in labels)
        + " | dead | both signs |\n|"
        + "---|" * (6 + len(others))
    )
    for cell, target, budget in groups:
        sa = best[(cell, "sa_gsae", target, budget)]
        cells = []
        for other, margin in BAR:
            o = best.get((cell, other, target, budget))
            if o is None:
                cells.append("-")
                continue
            diff = sa["explained_variance"] - o["explained_variance"]
            cells.append(f"**{diff:+.3f}**" if diff >= margin else f"{diff:+.3f}")
        dead, both = sa["dead_fraction"], sa["both_signs_share_of_live"]
        print(
            f"| {cell} | {target:g} | {budget / 1e6:g}M | "
            f"{sa['explained_variance']:.3f} (lr {sa['lr']:g}) | "
            + " | ".join(cells)
            + f" | {'**' if dead <= 0.01 else ''}{dead:.3f}{'**' if dead <= 0.01 else ''}"
            + f" | {'**' if both >= 0.5 else ''}{both:.2f}{'**' if both >= 0.5 else ''} |"
        )


def print_seeds(rows: list[dict[str, Any]]) -> None:
    """Mean and range over seeds at each architecture's selected (seed-0) lr,
    with the bar's verdicts on the means; only groups with more than one seed."""
    best = best_rows(rows)
    runs: dict[Key, list[dict[str, Any]]] = {}
    for r in rows:
        key = (r["cell"], r["arch"], float(r["target"]), int(r["budget"]))
        if key in best and float(r["lr"]) == float(best[key]["lr"]):
            runs.setdefault(key, []).append(r)
    groups = sorted(
        {(k[0], k[2], k[3]) for k, v in runs.items() if len({r["seed"] for r in v}) > 1}
    )
    for cell, target, budget in groups:
        print(
            f"\n### Seeds: {cell}, target L0 {target:g}, {budget / 1e6:g}M tokens "
            "(selected lr)\n\n| architecture | seeds | EV report mean | min | max | "
            "dead mean |\n|---|---|---|---|---|---|"
        )
        means: dict[str, float] = {}
        for (c, arch, t, b), group in runs.items():
            if (c, t, b) != (cell, target, budget) or len(group) < 2:
                continue
            evs = [r["explained_variance"] for r in group]
            means[arch] = sum(evs) / len(evs)
            dead = sum(r["dead_fraction"] for r in group) / len(group)
            print(
                f"| {group[0]['label']} | {len(group)} | {means[arch]:.3f} | "
                f"{min(evs):.3f} | {max(evs):.3f} | {dead:.3f} |"
            )
        for other, margin in BAR:
            if "sa_gsae" in means and other in means:
                diff = means["sa_gsae"] - means[other]
                verdict = "MET" if diff >= margin else f"MISSED by {margin - diff:.3f}"
                print(
                    f"VERDICT {cell} T={target:g} {budget / 1e6:g}M seed mean: "
                    f"SA-GSAE(H) - {other} = {diff:+.3f} (bar >= {margin:+.2f}): "
                    f"{verdict}"
                )


def print_antipodal(rows: list[dict[str, Any]]) -> None:
    anti = [
        r
        for r in best_rows(rows).values()
        if "diag_antipodal_05" in r and _in_frame(r["arch"])
    ]
    if not anti:
        return
    print(
        "\n### Antipodal decoder directions (share of live latents with a partner "
        "below the cosine cut; best-lr runs)\n\n"
        "| cell | T | budget | arch | cos < -0.5 | cos < -0.7 |\n|---|---|---|---|---|---|"
    )
    for r in sorted(anti, key=lambda r: (r["cell"], r["target"], r["budget"])):
        print(
            f"| {r['cell']} | {r['target']:g} | {r['budget'] / 1e6:g}M | "
            f"{r['label']} | {r['diag_antipodal_05']:.3f} | "
            f"{r['diag_antipodal_07']:.3f} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, default=Path("docs/results/quality/runs.jsonl")
    )
    parser.add_argument("--cells", default="mlp_out")
    parser.add_argument("--targets", type=float, nargs="+", default=[8.0, 16.0])
    parser.add_argument("--budgets", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--lrs", type=float, nargs="+", default=[3e-4, 1e-3, 3e-3])
    parser.add_argument("--archs", default=",".join(FRAME_ARCHS))
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        help="NAME=field:json,...: also train the SA-GSAE with these overrides",
    )
    parser.add_argument("--cache-dir", type=Path, default=Path(".cache/activations"))
    parser.add_argument("--table-only", action="store_true")
    parser.add_argument(
        "--seeds",
        type=int,
        nargs="+",
        default=[0],
        help="seeds; seed 0 selects the lr, run others with --lrs set to it",
    )
    parser.add_argument(
        "--max-dead",
        type=float,
        default=None,
        help="also print the bar with each lr chosen among runs with at most this "
        "dead fraction (report half)",
    )
    parser.add_argument(
        "--save-dir",
        type=Path,
        default=None,
        help="also save each trained SAE (inference form) in a folder here",
    )
    parser.add_argument(
        "--max-runs", type=int, default=None, help="stop after this many runs"
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    archs = dict(FRAME_ARCHS)
    for spec in args.variant:
        v = parse_variant(spec)
        archs[v.name] = v
    names = [n for n in args.archs.split(",") if n]
    names += [parse_variant(s).name for s in args.variant]
    rows = read_rows(args.out)
    done = {
        (
            r["cell"],
            r["arch"],
            float(r["target"]),
            int(r["budget"]),
            float(r["lr"]),
            int(r.get("seed", 0)),
        )
        for r in rows
    }
    n_runs = 0
    if not args.table_only:
        for cell in args.cells.split(","):
            todo = [
                (budget, target, name, lr, seed)
                for seed in args.seeds
                for budget in args.budgets
                for target in args.targets
                for name in names
                for lr in args.lrs
                if (cell, name, target, budget, lr, seed) not in done
            ]
            if not todo:
                continue
            use_offline_hub()
            from sae_lens_signaware.models import load_hooked_model

            model = load_hooked_model(DEFAULT_MODEL)
            from sae_lens_signaware.activations import cached_activations

            hook = CompareSettings().hook(cell)
            train = cached_activations(
                model, hook, "train", TRAIN_TOKENS, cache_dir=args.cache_dir
            )
            val = cached_activations(
                model, hook, "validation", VAL_TOKENS, cache_dir=args.cache_dir
            )
            select, report = split_validation(val)
            print(
                f"[frame] {cell}: {train.shape[0]} train tokens, select "
                f"{select.shape[0]}, report {report.shape[0]}",
                flush=True,
            )
            for budget, target, name, lr, seed in todo:
                if args.max_runs is not None and n_runs >= args.max_runs:
                    break
                start = time.perf_counter()
                save_to = None
                if args.save_dir is not None:
                    tag = f"{cell}_{name}_T{target:g}_{budget}_lr{lr:g}_s{seed}"
                    save_to = args.save_dir / tag
                row = train_frame(
                    archs[name],
                    target,
                    lr,
                    budget,
                    train,
                    select,
                    report,
                    seed=seed,
                    save_to=save_to,
                )
                row = {"cell": cell, "hook": hook, **row}
                args.out.parent.mkdir(parents=True, exist_ok=True)
                with open(args.out, "a") as f:
                    f.write(json.dumps(row) + "\n")
                rows.append(row)
                n_runs += 1
                print(
                    f"[frame] {cell} {name} T={target:g} lr={lr:g} s{seed} "
                    f"{budget / 1e6:g}M: L0 {row['l0']:.1f} EV sel "
                    f"{row['select_ev']:.3f} rep {row['explained_variance']:.3f} "
                    f"dead {row['dead_fraction']:.3f} "
                    f"({row['train_seconds']:.0f}s train, "
                    f"{time.perf_counter() - start:.0f}s total)",
                    flush=True,
                )
    print_tables(rows, args.lrs)
    print_bar_matrix(rows)
    if args.max_dead is not None:
        print_bar_matrix(rows, args.max_dead)
    print_seeds(rows)
    print_antipodal(rows)


if __name__ == "__main__":
    main()
