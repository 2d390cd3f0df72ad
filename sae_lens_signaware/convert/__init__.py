"""Conversions between signed SAEs and SAELens's built-in architectures.

- ``to_jumprelu``: an exact ``jumprelu`` SAE from an SA-GSAE (2 x d_sae latents).
- ``to_signed``: a per-sign SA-GSAE from a JumpReLU-form or Gated SAE, its
  antipodal decoder pairs merged into signed latents.
"""

from sae_lens_signaware.convert.jumprelu import (
    jumprelu_index,
    jumprelu_thresholds,
    merge_split,
    split_signed,
    to_jumprelu,
)
from sae_lens_signaware.convert.signed import (
    DEFAULT_CUT,
    SignedConversion,
    antipodal_pairs,
    to_signed,
)

__all__ = [
    "DEFAULT_CUT",
    "SignedConversion",
    "antipodal_pairs",
    "jumprelu_index",
    "jumprelu_thresholds",
    "merge_split",
    "split_signed",
    "to_jumprelu",
    "to_signed",
]
