"""The architectures, sizes and validation split of issue 10's frame
(``quality_frame.py`` trains them; ``quality_tables.py`` prints them).

The architectures are ``signaware_studies.baselines``'s (the one registry):
the SA-GSAE, its one-sided gate and AbsTopK at H as ``compare`` trains them,
and TopK and BatchTopK at both H and 2H (``baselines.WIDTH_VARIANTS``). The
names are those of the frame's rows in ``docs/results/quality/runs.jsonl``.
"""

import json
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch
from sae_lens.saes.sae import SAE, TrainingSAE

from sae_lens_signaware.training import TrainSettings
from sae_lens_signaware_cli.assets import (
    DEFAULT_MODEL,
    tinystories_dir,
    use_offline_hub,
)
from signaware_studies.baselines import ARCHS, WIDTH_VARIANTS, Arch, resized, sa_variant
from signaware_studies.comparison.compare import NORMALIZE, CompareSettings

TRAIN_TOKENS = 3_000_000  # more than the training text holds: the cache takes all
VAL_TOKENS = 100_000
BATCH = 1024
WIDTH_MULTIPLIER = 4  # H = 4 x d_model = 512


def frame_settings(
    budget: int, lr: float, seed: int = 0, device: str = "cpu"
) -> TrainSettings:
    """The frame's schedule for ``budget`` tokens: batches of ``BATCH``, the lr
    warmed up over the first 5% of steps and decayed over the last 20%,
    ``b_dec`` starting at the data mean."""
    n_steps = budget // BATCH
    return TrainSettings(
        n_steps=n_steps,
        batch_size=BATCH,
        lr=lr,
        seed=seed,
        lr_warm_up_steps=max(1, n_steps // 20),
        lr_decay_steps=n_steps // 5,
        b_dec_init="mean",
        device=device,
    )


def frame_config(arch: Arch, d_in: int, target: float) -> Any:
    """``arch``'s training config at its width (in units of H = 4 d_in) and target
    L0, with the frame's (``compare``'s) activation normalisation."""
    d_sae = arch.d_sae(WIDTH_MULTIPLIER * d_in)
    return arch.make(d_in, d_sae, target, normalize_activations=NORMALIZE)


def _sa(name: str, label: str, width: float = 1, **overrides: Any) -> Arch:
    return Arch(name, label, width, True, sa_variant(**overrides))


#: the exchange-rate widths (units of H) of the SA-GSAEs in ``PER_SIGN_ARCHS``
EXCHANGE_WIDTHS = (1.5, 2)
#: issue 17's frame: the per-sign and the shared SA-GSAE at H, the one-sided
#: gate at H and at 1.5H (the per-sign SAE's 3 H d parameters), TopK at 1.5H
#: and 2H, AbsTopK at H; and, for the exchange rate, both SA-GSAEs at wider H
PER_SIGN_ARCHS: dict[str, Arch] = {
    a.name: a
    for a in [
        _sa("sa_per_sign", "SA-GSAE per-sign (H)", sign_encoders="per_sign"),
        _sa("sa_shared", "SA-GSAE shared (H)", sign_encoders="shared"),
        replace(ARCHS["sa_one_sided"], label="SA one-sided (H)"),
        resized("sa_one_sided", 1.5, "sa_one_sided_15h"),
        resized("topk", 1.5, "topk_15h"),
        WIDTH_VARIANTS["topk_2h"],
        ARCHS["abstopk"],
        *(
            _sa(f"{kind}_{w:g}h", f"SA-GSAE {kind[3:]} ({w:g}H)", w, sign_encoders=enc)
            for kind, enc in (("sa_per_sign", "per_sign"), ("sa_shared", "shared"))
            for w in EXCHANGE_WIDTHS
        ),
    ]
}

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


def parse_variant(spec: str) -> Arch:
    """``NAME=field:value,field:value``: the SA-GSAE with those config overrides
    (a field the config lacks is refused here, before any training)."""
    name, _, rest = spec.partition("=")
    overrides: dict[str, Any] = {}
    for item in filter(None, rest.split(",")):
        key, _, value = item.partition(":")
        overrides[key] = json.loads(value)
    return Arch(name, f"SA-GSAE {name} (H)", 1, True, sa_variant(**overrides))


def frame_archs(frame: str, variants: Sequence[str] = ()) -> dict[str, Arch]:
    """The architectures of ``frame`` (``"issue10"`` or ``"per_sign"``) and of the
    ``--variant`` specs (by name, so worker processes rebuild the same ones)."""
    archs = dict(PER_SIGN_ARCHS if frame == "per_sign" else FRAME_ARCHS)
    for spec in variants:
        variant = parse_variant(spec)
        archs[variant.name] = variant
    return archs


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


def cache_path(cache_dir: Path, cell: str, split: str) -> Path:
    """Where ``frame_activations`` keeps ``cell``'s ``split`` activations."""
    from sae_lens_signaware.activations import cache_file_name

    hook = CompareSettings().hook(cell)
    name = cache_file_name(
        DEFAULT_MODEL.split("/")[-1], hook, split, SPLIT_TOKENS[split], 128
    )
    return cache_dir / name


def frame_model(device: str, ce_tokens: int) -> tuple[Any, torch.Tensor]:
    """The model on ``device`` and the first ``ce_tokens`` validation tokens as
    128-token windows (the CE loss score's text)."""
    use_offline_hub()
    from sae_lens_signaware.activations import read_texts, token_windows
    from sae_lens_signaware.models import load_hooked_model

    model = load_hooked_model(DEFAULT_MODEL, device=device)
    texts = read_texts("validation", tinystories_dir())
    return model, token_windows(model, texts, 128, ce_tokens).to(device)


def frame_activations(
    cell: str, splits: tuple[str, ...], cache_dir: Path, device: str = "cpu"
) -> dict[str, torch.Tensor]:
    """The frame's activations of ``cell`` for each of ``splits`` ("train",
    "validation"), read from ``cache_dir`` or computed with the model (offline,
    on ``device``) on the offline TinyStories text."""
    return cache_cells([cell], splits, cache_dir, device)[cell]


def cache_cells(
    cells: Sequence[str],
    splits: tuple[str, ...],
    cache_dir: Path,
    device: str = "cpu",
) -> dict[str, dict[str, torch.Tensor]]:
    """``frame_activations`` of several cells; each split's text is tokenized once
    for all of them, and only missing caches are computed."""
    from sae_lens_signaware.activations import (
        cached_activations,
        read_texts,
        token_windows,
    )

    out: dict[str, dict[str, torch.Tensor]] = {cell: {} for cell in cells}
    missing = [
        (cell, split)
        for cell in cells
        for split in splits
        if not cache_path(cache_dir, cell, split).exists()
    ]
    for cell, split in [(c, s) for c in cells for s in splits if (c, s) not in missing]:
        out[cell][split] = torch.load(cache_path(cache_dir, cell, split), mmap=True)
    if not missing:
        return out
    use_offline_hub()
    from sae_lens_signaware.models import load_hooked_model

    model = load_hooked_model(DEFAULT_MODEL, device=device)
    data = tinystories_dir()
    for split in dict.fromkeys(s for _, s in missing):
        tokens = token_windows(model, read_texts(split, data), 128, SPLIT_TOKENS[split])
        for cell, s in missing:
            if s != split:
                continue
            hook = CompareSettings().hook(cell)
            out[cell][split] = cached_activations(
                model,
                hook,
                split,
                SPLIT_TOKENS[split],
                data,
                cache_dir=cache_dir,
                tokens=tokens,
            )
    return out
