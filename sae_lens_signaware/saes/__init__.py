"""The Sign-Aware Gated SAE: configs, the inference and the training class."""

from sae_lens_signaware.errors import StateDictError
from sae_lens_signaware.saes.config import (
    ARCHITECTURE,
    PLAIN_SETTINGS,
    SignAwareGatedSAEConfig,
    SignAwareGatedTrainingSAEConfig,
)
from sae_lens_signaware.saes.sign_aware_gated_sae import (
    SignAwareGatedSAE,
    SignAwareGatedTrainingSAE,
)

__all__ = [
    "ARCHITECTURE",
    "PLAIN_SETTINGS",
    "SignAwareGatedSAE",
    "SignAwareGatedSAEConfig",
    "SignAwareGatedTrainingSAE",
    "SignAwareGatedTrainingSAEConfig",
    "StateDictError",
]
