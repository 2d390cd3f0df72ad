"""Conversions of signed SAEs into SAELens's built-in architectures."""

from sae_lens_signaware.export.jumprelu import (
    jumprelu_index,
    jumprelu_thresholds,
    merge_split,
    split_signed,
    to_jumprelu,
)

__all__ = [
    "jumprelu_index",
    "jumprelu_thresholds",
    "merge_split",
    "split_signed",
    "to_jumprelu",
]
