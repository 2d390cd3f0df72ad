"""The architectures, sizes and validation split of issue 10's frame
(``quality_frame.py`` trains them; ``quality_tables.py`` prints them).

The architectures are ``signaware_studies.baselines``'s (the one registry):
the SA-GSAE, its one-sided gate and AbsTopK at H as ``compare`` trains them,
and TopK and BatchTopK at both H and 2H (``baselines.WIDTH_VARIANTS``). The
names are those of the frame's rows in ``docs/results/quality/runs.jsonl``.
"""

from dataclasses import replace
from pathlib import Path
from typing import Any

import torch
from sae_lens.saes.sae import SAE, TrainingSAE

from sae_lens_signaware_cli.assets import (
    DEFAULT_MODEL,
    tinystories_dir,
    use_offline_hub,
)
from signaware_studies.baselines import ARCHS, WIDTH_VARIANTS, Arch
from signaware_studies.comparison.compare import CompareSettings

TRAIN_TOKENS = 3_000_000  # more than the training text holds: the cache takes all
VAL_TOKENS = 100_000
BATCH = 1024
WIDTH_MULTIPLIER = 4  # H = 4 x d_model = 512

FRAME_ARCHS: dict[str, Arch] = {
    a.name: a
    for a in [
        ARCHS["sa_gsae"],
        # the frame's label, as its rows and tables spell it
        replace(ARCHS["sa_one_sided"], label="SA one-sided (H)"),
        ARCHS["abstopk"],
        WIDTH_VARIANTS["topk_h"],
        WIDTH_VARIANTS["topk_2h"],
        WIDTH_VARIANTS["batchtopk_h"],
        WIDTH_VARIANTS["batchtopk_2h"],
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


def split_validation(val: torch.Tensor, context: int = 128) -> tuple[torch.Tensor, ...]:
    """``(select, report)``: the two halves, cut at a window boundary."""
    cut = (val.shape[0] // context // 2) * context
    return val[:cut], val[cut:]


#: the token count of each split's cache
SPLIT_TOKENS = {"train": TRAIN_TOKENS, "validation": VAL_TOKENS}


def frame_activations(
    cell: str, splits: tuple[str, ...], cache_dir: Path
) -> dict[str, torch.Tensor]:
    """The frame's activations of ``cell`` for each of ``splits`` ("train",
    "validation"), read from ``cache_dir`` or computed with the model (offline)
    on the offline TinyStories text."""
    use_offline_hub()
    from sae_lens_signaware.activations import cached_activations
    from sae_lens_signaware.models import load_hooked_model

    model = load_hooked_model(DEFAULT_MODEL)
    hook = CompareSettings().hook(cell)
    data = tinystories_dir()
    return {
        split: cached_activations(
            model, hook, split, SPLIT_TOKENS[split], data, cache_dir=cache_dir
        )
        for split in splits
    }
