"""The studies' ``sae-signaware`` commands (entry-point group
``sae_lens_signaware.commands``)."""

from sae_lens_signaware_cli.cli import Command

COMPARE = Command(
    "compare",
    "train the SA-GSAE and SAELens's architectures at matched L0 on cached "
    "activations; EV, dead fraction and CE loss score vs L0 (--quick: minutes)",
    "signaware_studies.commands.compare",
)
SYNTHETIC = Command(
    "synthetic",
    "synthetic protocols: polarity-dial, anomalies, antipodal (JSON + PNG)",
    "signaware_studies.commands.synthetic",
)
