"""Start ``n`` ranks with ``torchrun`` (``python -m torch.distributed.run``) on this machine."""

import os
import socket
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def torchrun(
    n: int, target: list[str], timeout: float, **env: str
) -> subprocess.CompletedProcess[str]:
    """Run ``target`` (a script and its arguments, or ``-m module ...``) on ``n``
    gloo ranks, one torch thread each; ``env`` is added to the environment."""
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        f"--nproc_per_node={n}",
        f"--master_port={free_port()}",
        *target,
    ]
    full_env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", **env}
    return subprocess.run(
        cmd, env=full_env, cwd=REPO, capture_output=True, text=True, timeout=timeout
    )
