"""``to_signed`` on SAEs trained here: what merging antipodal pairs costs, by cut.

    python benchmarks/to_signed.py [--cell mlp_out] [--target 8]
        [--budget 4000000] [--lr 0.003] [--cuts 1 0.95 0.9 0.8 0.7 0.5]
        [--output docs/results/quality/to_signed.json]

Trains JumpReLU (2H) and BatchTopK (2H) on issue 17's frame schedule
(``quality_frame.py``: SAELens's trainer on cached activations, ``b_dec`` at
the mean, the same lr schedule) but without its L0 controller, saves each for inference
(BatchTopK as SAELens's JumpReLU), and converts it with ``to_signed`` at each
cut, twice: with the pairs' shared directions split evenly (no data) and
weighted by what each latent carries on 262k training tokens (``acts``). For
each: the signed SAE's latents, the pairs merged, and the change in explained
variance (report half of the validation tokens) and CE loss score (32k
validation tokens) against the source SAE. The round trip
``to_signed(to_jumprelu(sa))`` of the frame's SA-GSAEs is checked too.
"""

import argparse
import json
import time
from pathlib import Path
from typing import Any

import torch
from frame_runner import CE_TOKENS
from quality_archs import (
    PER_SIGN_ARCHS,
    cache_cells,
    frame_config,
    frame_model,
    frame_settings,
    split_validation,
    to_inference,
)

from sae_lens_signaware.convert import to_jumprelu, to_signed
from sae_lens_signaware.evaluation import ce_loss_score, reconstruction_metrics
from sae_lens_signaware.outputs import write_atomic
from sae_lens_signaware.training import train_on_cached
from signaware_studies.baselines import Arch, resized
from signaware_studies.comparison.compare import CompareSettings

SOURCES = {
    "jumprelu_2h": resized("jumprelu", 2, "jumprelu_2h"),
    "batchtopk_2h": resized("batchtopk", 2, "batchtopk_2h"),
}
ROUND_TRIP = {name: PER_SIGN_ARCHS[name] for name in ("sa_shared", "sa_per_sign")}


def train(arch: Arch, train_acts: torch.Tensor, args: argparse.Namespace) -> Any:
    """``arch`` trained on the frame's schedule, without its L0 controller (the
    sources settle where their own sparsity puts them: JumpReLU at L0 9.7)."""
    cfg = frame_config(arch, train_acts.shape[1], args.target)
    trained, _ = train_on_cached(cfg, train_acts, frame_settings(args.budget, args.lr))
    return to_inference(trained)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cell", default="mlp_out")
    parser.add_argument("--target", type=float, default=8.0)
    parser.add_argument("--budget", type=int, default=4_000_000)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument(
        "--cuts", type=float, nargs="+", default=[1.0, 0.95, 0.9, 0.8, 0.7, 0.5]
    )
    parser.add_argument("--cache-dir", type=Path, default=Path(".cache/activations"))
    parser.add_argument(
        "--output", type=Path, default=Path("docs/results/quality/to_signed.json")
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    acts = cache_cells([args.cell], ("train", "validation"), args.cache_dir)[args.cell]
    select, report = split_validation(acts["validation"])
    model, windows = frame_model("cpu", CE_TOKENS)
    hook = CompareSettings().hook(args.cell)

    def measure(sae: Any) -> dict[str, float]:
        ce = ce_loss_score(model, sae, windows, hook)["ce_loss_score"]
        recon = reconstruction_metrics(sae, report)
        return {
            "d_sae": sae.cfg.d_sae,
            "l0": recon["l0"],
            "explained_variance": recon["explained_variance"],
            "ce_loss_score": ce,
        }

    results: dict[str, Any] = {"settings": {k: str(v) for k, v in vars(args).items()}}
    weigh_on = acts["train"][:262_144]
    print(
        f"| source ({args.cell}, T {args.target:g}, {args.budget / 1e6:g}M) | cut | "
        "directions | latents | pairs merged | L0 | EV | dEV | CE score | dCE |\n"
        "|---|---|---|---|---|---|---|---|---|---|",
        flush=True,
    )
    for name, arch in SOURCES.items():
        start = time.perf_counter()
        source = train(arch, acts["train"], args)
        base = measure(source)
        rows = [{"cut": None, "pairs_merged": 0, **base}]
        print(
            f"| {arch.label} | source | | {base['d_sae']} | 0 | {base['l0']:.2f} | "
            f"{base['explained_variance']:.4f} | | {base['ce_loss_score']:.4f} | |",
            flush=True,
        )
        for cut in args.cuts:
            for how, weights in (("even", None), ("weighted", weigh_on)):
                signed = to_signed(source, cut=cut, acts=weights)
                m = measure(signed.sae)
                d_ev = m["explained_variance"] - base["explained_variance"]
                d_ce = m["ce_loss_score"] - base["ce_loss_score"]
                rows.append(
                    {
                        "cut": cut,
                        "directions": how,
                        "pairs_merged": signed.n_merged,
                        **m,
                    }
                )
                print(
                    f"| {arch.label} | {cut:g} | {how} | {m['d_sae']} | "
                    f"{signed.n_merged} | {m['l0']:.2f} | "
                    f"{m['explained_variance']:.4f} | {d_ev:+.4f} | "
                    f"{m['ce_loss_score']:.4f} | {d_ce:+.4f} |",
                    flush=True,
                )
        results[name] = {"rows": rows, "seconds": time.perf_counter() - start}
    x = report[:8192]
    for name, arch in ROUND_TRIP.items():
        sa = train(arch, acts["train"], args)
        back = to_signed(to_jumprelu(sa)).sae
        with torch.no_grad():
            diff = float((back(x) - sa(x)).abs().max())
            scale = float(sa(x).abs().max())
            same_support = bool(torch.equal(back.encode(x) != 0, sa.encode(x) != 0))
        results[f"round_trip_{name}"] = {
            "max_abs_output_difference": diff,
            "output_scale": scale,
            "same_support": same_support,
            "d_sae": back.cfg.d_sae,
        }
        print(
            f"round trip {arch.label}: max |out - out'| {diff:.2e} (of {scale:.2e}), "
            f"same support: {same_support}",
            flush=True,
        )
    write_atomic(args.output, json.dumps(results, indent=1))
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
