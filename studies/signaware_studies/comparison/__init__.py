"""Compare the SA-GSAE with SAELens's architectures on a model's activations.

- ``baselines``: the one registry of compared architectures (``ARCHS``).
- ``compare``: ``sae-signaware compare``, every architecture at each target L0
  and seed on cached activations, resumable.
- ``summary``: per-target means, Pareto dominance, dead-fraction ratios.
- ``report``: Markdown tables and plots of a summary.
"""
