"""Benchmarks: cached real activations, training on them, and comparisons."""
