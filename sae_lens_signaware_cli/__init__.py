"""The command layer of sae-lens-signaware: ``sae-signaware`` and its commands.

Argument parsing, printing and the demo defaults (the offline model and text
beside the checkout, ``assets``) live here; everything they run is in the
library, ``sae_lens_signaware``, which never imports this package.
"""
