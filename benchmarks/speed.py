"""Step time and activation memory of the SA-GSAE beside SAELens's architectures.

    python benchmarks/speed.py                      # both sizes, float32 and bf16 autocast
    python benchmarks/speed.py --sizes small --precisions float32 --threads 2
    python benchmarks/speed.py --crossover          # sparse vs dense fused step by density

Each step is what ``SAETrainer._train_step`` does (SAELens 6.54): the training
forward pass (under autocast when asked), the trainer's firing bookkeeping,
backward, ``clip_grad_norm_(1.0)``, Adam step, ``zero_grad``. Every architecture
gets the same random batch and SAELens's default config (k 32 for the top-k
ones). "saved" is the bytes autograd keeps for backward over one training
forward pass (``torch.autograd.graph.saved_tensors_hooks``; parameters and the
input excluded, each storage counted once); on CUDA, "peak" is
``torch.cuda.max_memory_allocated`` over a step. Prints markdown tables and
writes JSON (``--output``). Runs unchanged on CUDA (``--device cuda``).
"""

import argparse
import json
import platform
import statistics
import time
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import torch
from sae_lens import (
    BatchTopKTrainingSAE,
    BatchTopKTrainingSAEConfig,
    GatedTrainingSAE,
    GatedTrainingSAEConfig,
    JumpReLUTrainingSAE,
    JumpReLUTrainingSAEConfig,
    TopKTrainingSAE,
    TopKTrainingSAEConfig,
)
from sae_lens.saes.abstopk_sae import AbsTopKTrainingSAE, AbsTopKTrainingSAEConfig
from sae_lens.saes.sae import TrainingSAE, TrainStepInput

from sae_lens_signaware import (
    SignAwareGatedTrainingSAE,
    SignAwareGatedTrainingSAEConfig,
)

#: name -> (d_in, H, batch); "main-job" is the main job's SAE and batch
SIZES = {
    "main-job": (128, 512, 1024),
    "small": (512, 8192, 2048),
    "large": (1024, 16384, 4096),
}
GPU_SIZE = {"gpu": (2048, 32768, 4096)}
K = 32
OURS = "sign_aware_gated (H)"
PER_SIGN = "sign_aware_gated per-sign (H)"


def architectures(d_in: int, h: int) -> dict[str, Callable[[], TrainingSAE[Any]]]:
    """Name -> builder, each at SAELens's default config."""
    return {
        OURS: lambda: SignAwareGatedTrainingSAE(
            SignAwareGatedTrainingSAEConfig(d_in=d_in, d_sae=h, sign_encoders="shared")
        ),
        PER_SIGN: lambda: SignAwareGatedTrainingSAE(
            SignAwareGatedTrainingSAEConfig(
                d_in=d_in, d_sae=h, sign_encoders="per_sign"
            )
        ),
        "gated (H)": lambda: GatedTrainingSAE(
            GatedTrainingSAEConfig(d_in=d_in, d_sae=h)
        ),
        "gated (2H)": lambda: GatedTrainingSAE(
            GatedTrainingSAEConfig(d_in=d_in, d_sae=2 * h)
        ),
        "jumprelu (2H)": lambda: JumpReLUTrainingSAE(
            JumpReLUTrainingSAEConfig(d_in=d_in, d_sae=2 * h)
        ),
        "topk (2H)": lambda: TopKTrainingSAE(
            TopKTrainingSAEConfig(d_in=d_in, d_sae=2 * h, k=K)
        ),
        "batchtopk (2H)": lambda: BatchTopKTrainingSAE(
            BatchTopKTrainingSAEConfig(d_in=d_in, d_sae=2 * h, k=K)
        ),
        "abstopk (H)": lambda: AbsTopKTrainingSAE(
            AbsTopKTrainingSAEConfig(d_in=d_in, d_sae=h, k=K)
        ),
    }


class Stepper:
    """``SAETrainer._train_step`` without the trainer's data and logging plumbing."""

    def __init__(self, sae: TrainingSAE[Any], autocast: torch.dtype | None) -> None:
        self.sae = sae
        self.device = sae.W_dec.device
        self.optimizer: torch.optim.Optimizer = torch.optim.Adam(
            sae.parameters(), lr=3e-4, betas=(0.9, 0.999)
        )
        self.coefficients = {
            name: float(c if isinstance(c, float | int) else c.value)
            for name, c in sae.get_coefficients().items()
        }
        d_sae = sae.cfg.d_sae
        self.since_fired = torch.zeros(d_sae, device=self.device)
        self.act_freq = torch.zeros(d_sae, device=self.device)
        self.autocast = autocast
        self.n_steps = 0

    def autocast_ctx(self) -> Any:
        if self.autocast is None:
            return nullcontext()
        return torch.autocast(self.device.type, dtype=self.autocast)

    def step_input(self, sae_in: torch.Tensor) -> TrainStepInput:
        return TrainStepInput(
            sae_in=sae_in,
            coefficients=self.coefficients,
            dead_neuron_mask=self.since_fired > 1000,
            n_training_steps=self.n_steps,
            is_logging_step=False,
        )

    def __call__(self, sae_in: torch.Tensor) -> None:
        self.sae.train()
        with self.autocast_ctx():
            out = self.sae.training_forward_pass(self.step_input(sae_in))
            with torch.no_grad():
                firing = out.feature_acts.bool().float()
                did_fire = firing.sum(-2).bool()
                if did_fire.is_sparse:
                    did_fire = did_fire.to_dense()
                self.since_fired += 1
                self.since_fired[did_fire] = 0
                self.act_freq += firing.sum(0)
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(self.sae.parameters(), 1.0)
        self.optimizer.step()
        self.optimizer.zero_grad()
        self.n_steps += 1

    def saved_bytes(self, sae_in: torch.Tensor) -> int:
        """Bytes autograd saves over one training forward pass."""
        excluded = {p.untyped_storage().data_ptr() for p in self.sae.parameters()}
        excluded.add(sae_in.untyped_storage().data_ptr())
        seen: dict[int, int] = {}

        def pack(t: torch.Tensor) -> torch.Tensor:
            if t.layout == torch.strided:
                ptr = t.untyped_storage().data_ptr()
                if ptr not in excluded:
                    seen[ptr] = t.untyped_storage().nbytes()
            return t

        hooks = torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t)
        with hooks, self.autocast_ctx():
            out = self.sae.training_forward_pass(self.step_input(sae_in))
        del out
        self.optimizer.zero_grad()
        return sum(seen.values())


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def measure(
    builds: dict[str, Callable[[], TrainingSAE[Any]]],
    sae_in: torch.Tensor,
    autocast: torch.dtype | None,
    steps: int,
    warmup: int,
) -> dict[str, dict[str, Any]]:
    """Median step of each architecture, the steps interleaved (one step of each in
    turn) so that a change in the machine's load hits all of them alike."""
    device = sae_in.device
    steppers = {}
    for name, build in builds.items():
        torch.manual_seed(0)
        steppers[name] = Stepper(build().to(device), autocast)
        for _ in range(warmup):
            steppers[name](sae_in)
    times: dict[str, list[float]] = {name: [] for name in builds}
    peaks: dict[str, int] = {}
    for _ in range(steps):
        for name, stepper in steppers.items():
            if device.type == "cuda":
                torch.cuda.reset_peak_memory_stats()
            sync(device)
            start = time.perf_counter()
            stepper(sae_in)
            sync(device)
            times[name].append(time.perf_counter() - start)
            if device.type == "cuda":
                peaks[name] = max(peaks.get(name, 0), torch.cuda.max_memory_allocated())
    rows = {}
    for name, stepper in steppers.items():
        row: dict[str, Any] = {
            "step_s": statistics.median(times[name]),
            "step_s_all": times[name],
            "saved_bytes": stepper.saved_bytes(sae_in),
        }
        if name in peaks:
            row["peak_bytes"] = peaks[name]
        with torch.no_grad(), stepper.autocast_ctx():
            out = stepper.sae.training_forward_pass(stepper.step_input(sae_in))
            acts = out.feature_acts.bool().float().sum(-1)
            row["l0"] = float(acts.to_dense().mean())
        rows[name] = row
        del out
    return rows


def run_benchmark(args: argparse.Namespace) -> dict[str, Any]:
    device = torch.device(args.device)
    sizes = {**SIZES, **GPU_SIZE}
    results: dict[str, Any] = {
        "threads": torch.get_num_threads(),
        "device": describe_device(device),
        "torch": torch.__version__,
        "steps": args.steps,
        "warmup": args.warmup,
        "runs": [],
    }
    for size in args.sizes:
        d_in, h, batch = sizes[size]
        gen = torch.Generator().manual_seed(0)
        sae_in = torch.randn(batch, d_in, generator=gen).to(device)
        for precision in args.precisions:
            autocast = torch.bfloat16 if precision == "bf16-autocast" else None
            builds = {
                name: build
                for name, build in architectures(d_in, h).items()
                if not args.only or any(o in name for o in args.only)
            }
            rows = measure(builds, sae_in, autocast, args.steps, args.warmup)
            for name, row in rows.items():
                print(f"  {size} {precision} {name}: {fmt_row(row)}", flush=True)
            run = {
                "size": size,
                "d_in": d_in,
                "d_sae_H": h,
                "batch": batch,
                "precision": precision,
                "rows": rows,
            }
            results["runs"].append(run)
            print(table(run), flush=True)
            if args.output:  # after each run, so a long session keeps what it has
                write_json(args.output, results)
    return results


def write_json(path: Path, results: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=1) + "\n")


def fmt_row(row: dict[str, Any]) -> str:
    return f"{row['step_s']:.3f} s, saved {row['saved_bytes'] / 2**20:.0f} MiB, L0 {row['l0']:.1f}"


def table(run: dict[str, Any]) -> str:
    rows = run["rows"]
    ours = rows.get(OURS)
    has_peak = any("peak_bytes" in r for r in rows.values())
    head = (
        f"\nd_in {run['d_in']}, H {run['d_sae_H']}, batch {run['batch']}, "
        f"{run['precision']}\n\n"
        "| architecture (width) | median step (s) | SA(H) / this | saved for backward (MiB) "
        "| SA(H) / this |" + (" peak (MiB) |" if has_peak else "") + " L0 |\n"
        "|---|---|---|---|---|" + ("---|" if has_peak else "") + "---|"
    )
    lines = [head]
    for name, r in rows.items():
        t_ratio = f"{ours['step_s'] / r['step_s']:.2f}" if ours else "-"
        m_ratio = f"{ours['saved_bytes'] / r['saved_bytes']:.2f}" if ours else "-"
        peak = f" {r['peak_bytes'] / 2**20:.0f} |" if has_peak else ""
        lines.append(
            f"| {name} | {r['step_s']:.3f} | {t_ratio} | "
            f"{r['saved_bytes'] / 2**20:.0f} | {m_ratio} |{peak} {r['l0']:.1f} |"
        )
    return "\n".join(lines)


def describe_device(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"cpu ({platform.processor() or platform.machine()})"


def run_crossover(args: argparse.Namespace) -> dict[str, Any]:
    """Median fused step, sparse vs dense, with thresholds set for each density."""
    device = torch.device(args.device)
    d_in, h, batch = {**SIZES, **GPU_SIZE}[args.sizes[0]]
    sae_in = torch.randn(batch, d_in, generator=torch.Generator().manual_seed(0))
    sae_in = sae_in.to(device)
    rows = []
    print(f"\ncrossover, d_in {d_in}, H {h}, batch {batch}, {args.device}\n")
    print("| density of P | sparse step (s) | dense step (s) | sparse / dense |")
    print("|---|---|---|---|")
    for density in args.densities:
        steppers = {}
        for mode, max_density in (("sparse", 1.0), ("dense", 0.0)):
            cfg = SignAwareGatedTrainingSAEConfig(
                d_in=d_in,
                d_sae=h,
                threshold_init_l0=None,
                reset_dead_thresholds=False,
                sparse_max_density=max_density,
            )
            sae = SignAwareGatedTrainingSAE(cfg).to(device)
            # pi_gate is about N(0, 1) here (unit-norm encoder columns, unit
            # input variance): theta leaves `density` of |pi_gate| above
            # theta - bandwidth / 2, the gates and their kernel windows
            quantile = torch.distributions.Normal(0.0, 1.0).icdf(
                torch.tensor(1 - density / 2)
            )
            with torch.no_grad():
                theta = max(float(quantile) + 0.5 * cfg.bandwidth, 0.0)
                sae.threshold_pos.fill_(theta)  # tied: threshold_neg mirrors it
                sae.threshold_neg.fill_(theta)
            stepper = Stepper(sae, None)
            stepper.optimizer = torch.optim.SGD(sae.parameters(), lr=0.0)
            for _ in range(args.warmup):
                stepper(sae_in)
            steppers[mode] = stepper
        times: dict[str, list[float]] = {mode: [] for mode in steppers}
        for _ in range(args.steps):  # interleaved, as in measure()
            for mode, stepper in steppers.items():
                sync(device)
                start = time.perf_counter()
                stepper(sae_in)
                sync(device)
                times[mode].append(time.perf_counter() - start)
        timing = {mode: statistics.median(t) for mode, t in times.items()}
        row = {"density": density, **timing}
        rows.append(row)
        print(
            f"| {density:.3f} | {timing['sparse']:.3f} | {timing['dense']:.3f} | "
            f"{timing['sparse'] / timing['dense']:.2f} |",
            flush=True,
        )
    return {"d_in": d_in, "d_sae": h, "batch": batch, "rows": rows}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--sizes", nargs="+", default=["small", "large"], choices=[*SIZES, *GPU_SIZE]
    )
    parser.add_argument(
        "--precisions",
        nargs="+",
        default=["float32", "bf16-autocast"],
        choices=["float32", "bf16-autocast"],
    )
    parser.add_argument(
        "--threads", type=int, default=2, help="torch threads (0: torch's)"
    )
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--steps", type=int, default=6, help="timed steps (median)")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--only", nargs="*", help="substrings of architecture names")
    parser.add_argument("--crossover", action="store_true")
    parser.add_argument(
        "--densities",
        nargs="+",
        type=float,
        default=[0.002, 0.005, 0.01, 0.02, 0.04, 0.08],
    )
    parser.add_argument(
        "--main-job-metrics",
        nargs="*",
        default=[],
        help="metrics.json files of main-job runs: print tokens/s",
    )
    parser.add_argument("--output", type=Path, help="write the results as JSON")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"{describe_device(torch.device(args.device))}",
        flush=True,
    )
    results = run_crossover(args) if args.crossover else run_benchmark(args)
    results["threads"] = torch.get_num_threads()
    jobs = []
    for path in args.main_job_metrics:
        metrics = json.loads(Path(path).read_text())
        rate = metrics["training_tokens"] / metrics["train_seconds"]
        jobs.append({"metrics": str(path), "tokens_per_s": rate, **metrics})
        print(
            f"main job {path}: {rate:,.0f} training tokens/s "
            f"({metrics['train_seconds']:.1f} s train, {metrics['wall_seconds']:.1f} s wall)"
        )
    if jobs:
        results["main_job"] = jobs
    if args.output:
        write_json(args.output, results)


if __name__ == "__main__":
    main()
