"""Sign-Aware Gated Sparse Autoencoders (SA-GSAE) for SAELens.

``import sae_lens_signaware`` registers the architecture ``"sign_aware_gated"``
with SAELens, for inference (``SAE.load_from_disk``, ``SAE.from_pretrained``)
and for training (``LanguageModelSAETrainingRunner``, dict configs, the CLI).
"""

from sae_lens_signaware.registration import register
from sae_lens_signaware.saes import (
    ARCHITECTURE,
    SignAwareGatedSAE,
    SignAwareGatedSAEConfig,
    SignAwareGatedTrainingSAE,
    SignAwareGatedTrainingSAEConfig,
    StateDictError,
)

__version__ = "0.2.0"

register()

__all__ = [
    "ARCHITECTURE",
    "SignAwareGatedSAE",
    "SignAwareGatedSAEConfig",
    "SignAwareGatedTrainingSAE",
    "SignAwareGatedTrainingSAEConfig",
    "StateDictError",
    "register",
]
