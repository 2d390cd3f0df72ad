"""``python -m sae_lens_signaware_cli``: the same as ``sae-signaware``."""

from sae_lens_signaware_cli.cli import main

main()
