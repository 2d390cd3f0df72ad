"""Conversions of signed SAEs into SAELens's built-in architectures."""

from sae_lens_signaware.convert.jumprelu import (
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
