"""Tokens per second of SA-GSAE training with 1 process and with N processes.

    python benchmarks/data_parallel.py [--procs 2] [--tokens 200000] [--out FILE.json]

Runs the main job's training (the real TinyStories model, ``blocks.1.hook_mlp_out``,
d_sae 512, global batch 1024 tokens) under ``torchrun``, once with one process
and once with ``--procs`` processes, one torch thread each (gloo on CPU, NCCL on
CUDA: the same script runs unchanged on a GPU machine). Each run times
``SignAwareTrainingRunner.run`` on rank 0 (model forward on its shard, SAE
step, all-reduces), after the model is loaded. Prints the throughputs and the
efficiency ``tokens/s (N procs) / (N x tokens/s (1 proc))``; writes JSON.

``--worker`` is the per-rank entry point that torchrun starts.
"""

import argparse
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch


def worker(tokens: int, result_file: Path) -> None:
    torch.set_num_threads(1)
    from sae_lens_signaware.distributed import (
        init_from_env,
        is_main_process,
        world_size,
    )
    from sae_lens_signaware.models import load_hooked_model
    from sae_lens_signaware.training import SignAwareTrainingRunner
    from sae_lens_signaware_cli.assets import DEFAULT_MODEL, use_offline_hub
    from sae_lens_signaware_cli.main_job import main_job_config

    init_from_env()
    use_offline_hub()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = load_hooked_model(DEFAULT_MODEL, device=device)
    cfg = main_job_config(tokens=tokens, output=None)
    cfg.device = cfg.act_store_device = cfg.llm_device = device
    torch.manual_seed(cfg.seed)
    runner = SignAwareTrainingRunner(cfg, override_model=model)
    start = time.perf_counter()
    runner.run()
    seconds = time.perf_counter() - start
    if is_main_process():
        result_file.write_text(
            json.dumps(
                {
                    "procs": world_size(),
                    "tokens": tokens,
                    "seconds": seconds,
                    "tokens_per_second": tokens / seconds,
                    "device": device,
                }
            )
        )


def launch(procs: int, tokens: int) -> dict[str, Any]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with tempfile.TemporaryDirectory() as tmp:
        result = Path(tmp) / "result.json"
        cmd = [
            sys.executable,
            "-m",
            "torch.distributed.run",
            f"--nproc_per_node={procs}",
            f"--master_port={port}",
            __file__,
            "--worker",
            "--tokens",
            str(tokens),
            "--result",
            str(result),
        ]
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        subprocess.run(cmd, env=env, check=True)
        return json.loads(result.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--procs", type=int, default=2)
    parser.add_argument("--tokens", type=int, default=204_800)
    parser.add_argument("--out", type=Path, default=Path("output/data_parallel.json"))
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.tokens, args.result)
        return
    one = launch(1, args.tokens)
    many = launch(args.procs, args.tokens)
    efficiency = many["tokens_per_second"] / (args.procs * one["tokens_per_second"])
    table = "\n".join(
        [
            "| processes | tokens | seconds | tokens/s |",
            "|---|---|---|---|",
            *(
                f"| {r['procs']} | {r['tokens']:,} | {r['seconds']:.1f} | "
                f"{r['tokens_per_second']:,.0f} |"
                for r in (one, many)
            ),
            "",
            f"efficiency (tokens/s with {args.procs} / ({args.procs} x tokens/s with 1)): "
            f"{efficiency:.2f}; one torch thread per process; {one['device']}; "
            f"{platform.machine()}, {os.cpu_count()} CPUs",
        ]
    )
    print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {"runs": [one, many], "efficiency": efficiency, "table": table}, indent=1
        )
    )


if __name__ == "__main__":
    main()
