"""What one shared decoder row costs a signed latent, at fixed codes.

    python benchmarks/decoder_split.py --saes DIR [DIR ...] [--cell mlp_out]
        [--fit-tokens 300000] [--min-count 200]

For each saved SAE (``quality_frame.py --save-dir``), keep its codes ``f`` and
refit the decoder by ridge least squares (lambda 1e-3) on the first
``--fit-tokens`` training activations, twice:

    shared: x_hat = f @ W + b                     (one row per latent, as trained)
    split:  x_hat = f @ W + min(f, 0)[:, S] @ V + b

where ``S`` holds the latents that fire with each sign at least ``--min-count``
times in the fit tokens: the split gives their negative side a row of its own.
Explained variance on the report half of the validation tokens: split minus
shared is what a second decoder row per sign would buy with the encoder as it
is. Prints a table and writes ``--json``.
"""

import argparse
import json
from pathlib import Path
from typing import Any

import torch
from quality_archs import frame_activations, split_validation

from sae_lens_signaware.loading import load_sae
from sae_lens_signaware.outputs import write_atomic

RIDGE = 1e-3


def _ev(x_hat: torch.Tensor, x: torch.Tensor) -> float:
    return float(1 - (x_hat - x).pow(2).sum() / (x - x.mean(0)).pow(2).sum())


@torch.no_grad()
def decoder_split(
    sae: Any, fit: torch.Tensor, report: torch.Tensor, min_count: int
) -> dict[str, float]:
    """Report-half EV as trained, with a refit shared decoder, and with a split one."""

    def encode(x: torch.Tensor) -> torch.Tensor:
        return torch.cat([sae.encode(x[i : i + 8192]) for i in range(0, len(x), 8192)])

    f_fit, f_rep = encode(fit), encode(report)
    split = ((f_fit > 0).sum(0) >= min_count) & ((f_fit < 0).sum(0) >= min_count)

    def design(f: torch.Tensor, with_split: bool) -> torch.Tensor:
        cols = [f, f[:, split].clamp(max=0)] if with_split else [f]
        return torch.cat([*cols, torch.ones(len(f), 1)], dim=1).double()

    out = {"as_trained": _ev(sae.decode(f_rep), report)}
    for name, with_split in (("shared", False), ("split", True)):
        a = design(f_fit, with_split)
        gram = a.T @ a + RIDGE * torch.eye(a.shape[1], dtype=torch.float64)
        w = torch.linalg.solve(gram, a.T @ fit.double())
        out[name] = _ev((design(f_rep, with_split) @ w).float(), report)
    out["n_split"] = float(split.sum())
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--saes", type=Path, nargs="+", required=True)
    parser.add_argument("--cell", default="mlp_out")
    parser.add_argument("--fit-tokens", type=int, default=300_000)
    parser.add_argument("--min-count", type=int, default=200)
    parser.add_argument("--cache-dir", type=Path, default=Path(".cache/activations"))
    parser.add_argument(
        "--json", type=Path, default=Path("docs/results/quality/decoder_split.json")
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    acts = frame_activations(args.cell, ("train", "validation"), args.cache_dir)
    report = split_validation(acts["validation"])[1]
    fit = acts["train"][: args.fit_tokens]
    results: list[dict[str, Any]] = []
    print(
        "| SAE | EV as trained | refit, shared rows | refit, split rows | split - shared "
        "| latents split |\n|---|---|---|---|---|---|"
    )
    for folder in args.saes:
        r = decoder_split(load_sae(folder), fit, report, args.min_count)
        print(
            f"| {folder.name} | {r['as_trained']:.4f} | {r['shared']:.4f} | "
            f"{r['split']:.4f} | {r['split'] - r['shared']:+.4f} | {r['n_split']:.0f} |"
        )
        results.append({"sae": folder.name, "cell": args.cell, **r})
    args.json.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(args.json, json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
