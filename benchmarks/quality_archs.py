"""The architectures, sizes and validation split of issue 10's frame
(``quality_frame.py`` trains them; ``quality_tables.py`` prints them)."""

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

from sae_lens_signaware.assets import DEFAULT_MODEL, use_offline_hub
from sae_lens_signaware.comparison.baselines import sa_variant
from sae_lens_signaware.comparison.compare import NORMALIZE, CompareSettings

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
    "validation"), read from ``cache_dir`` or computed with the model (offline)."""
    use_offline_hub()
    from sae_lens_signaware.activations import cached_activations
    from sae_lens_signaware.models import load_hooked_model

    model = load_hooked_model(DEFAULT_MODEL)
    hook = CompareSettings().hook(cell)
    return {
        split: cached_activations(
            model, hook, split, SPLIT_TOKENS[split], cache_dir=cache_dir
        )
        for split in splits
    }
