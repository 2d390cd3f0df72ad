"""Compare the SA-GSAE with SAELens's architectures on a model's activations.

- ``compare``: every architecture of ``signaware_studies.baselines.ARCHS`` (the
  one registry of compared architectures) at each target L0 and seed on cached
  activations, resumable (``sae-signaware compare``: ``commands/compare.py``).
- ``summary``: per-target means, Pareto dominance, dead-fraction ratios.
- ``report``: Markdown tables and plots of a summary.
"""
