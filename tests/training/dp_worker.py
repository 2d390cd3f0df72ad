"""One rank of a data-parallel ``train_on_cached`` run, for the tests.

    python -m torch.distributed.run --nproc_per_node N tests/training/dp_worker.py OUT [DIE_AT_STEP]

Every rank writes its final weights to ``OUT/rank{r}.pt``; with ``DIE_AT_STEP``
rank 1 exits abruptly at that step (a killed process).
"""

import os
import sys
from pathlib import Path

import torch

from sae_lens_signaware.distributed import init_from_env, rank
from tests.training.dp_setup import ACTS_SEED, config, settings, synthetic_acts


def main() -> None:
    torch.set_num_threads(1)
    out = Path(sys.argv[1])
    die_at = int(sys.argv[2]) if len(sys.argv) > 2 else None
    init_from_env()
    from sae_lens_signaware.training import train_on_cached

    def maybe_die(output: object) -> None:  # noqa: ARG001
        steps.append(len(steps))
        if die_at is not None and rank() == 1 and len(steps) == die_at:
            os._exit(3)

    steps: list[int] = []
    sae, _ = train_on_cached(
        config(), synthetic_acts(ACTS_SEED), settings(), on_step=maybe_die
    )
    out.mkdir(parents=True, exist_ok=True)
    torch.save(
        {k: v.detach().clone() for k, v in sae.state_dict().items()},
        out / f"rank{rank()}.pt",
    )


if __name__ == "__main__":
    main()
