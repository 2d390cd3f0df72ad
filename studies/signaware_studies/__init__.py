"""Studies of the SA-GSAE: the comparison against SAELens's architectures, the
synthetic protocols and the shared architecture registry the benchmarks use.

Not part of the installed library: ``pip install -e ./studies`` adds it (with
matplotlib) and its ``compare`` and ``synthetic`` commands to ``sae-signaware``.
"""
