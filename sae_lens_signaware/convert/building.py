"""What both conversions share: refusing non-finite parameters, and building the
converted SAE from the source's config, metadata and device with new tensors."""

import copy
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import torch
from sae_lens import SAE
from sae_lens.saes.sae import SAEConfig, SAEMetadata, TrainingSAEConfig

S = TypeVar("S", bound=SAE[Any])


@torch.no_grad()
def check_finite_parameters(sae: torch.nn.Module) -> None:
    """Raise a ValueError naming every parameter with NaN or inf entries (a
    non-finite ``b_gate`` would become a NaN threshold)."""
    bad = {
        name: f"{name} ({int((~torch.isfinite(p)).sum())} of {p.numel()} entries)"
        for name, p in sae.named_parameters()
        if not bool(torch.isfinite(p).all())
    }
    if bad:
        raise ValueError(
            f"cannot convert an SAE with non-finite {', '.join(map(repr, bad))}: "
            + ", ".join(bad.values())
        )


def inference_cfg_dict(sae: SAE[Any]) -> dict[str, Any]:
    """A copy of ``sae``'s config as its inference ``cfg.json`` would hold it."""
    if isinstance(sae.cfg, TrainingSAEConfig):
        cfg = sae.cfg.get_inference_sae_cfg_dict()
        cfg["metadata"] = copy.deepcopy(sae.cfg.metadata.to_dict())
        return cfg
    return copy.deepcopy(sae.cfg.to_dict())


def converted_sae(
    source: SAE[Any],
    config_class: type[SAEConfig],
    sae_class: Callable[[Any], S],
    cfg_updates: Mapping[str, Any],
    metadata_updates: Mapping[str, Any],
    state: dict[str, torch.Tensor],
) -> S:
    """``sae_class`` built from ``source``'s inference config with ``cfg_updates``
    and its metadata with ``metadata_updates``, on ``source``'s device, holding
    ``state``, in ``source``'s train/eval mode."""
    cfg_dict = inference_cfg_dict(source)
    metadata = dict(cfg_dict.pop("metadata", None) or {})
    metadata.update(metadata_updates)
    cfg_dict.update(cfg_updates)
    cfg = config_class.from_dict(cfg_dict)
    cfg.metadata = SAEMetadata(**metadata)
    cfg.device = str(source.W_dec.device)
    out = sae_class(cfg)
    out.load_state_dict(state)
    return out.train(source.training)
