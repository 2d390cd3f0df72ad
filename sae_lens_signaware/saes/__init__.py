"""Sign-aware SAE architectures."""

from sae_lens_signaware.saes.config import (
    ARCHITECTURE,
    SignAwareGatedSAEConfig,
    SignAwareGatedTrainingSAEConfig,
)
from sae_lens_signaware.saes.sign_aware_gated_sae import (
    SignAwareGatedSAE,
    SignAwareGatedTrainingSAE,
)
from sae_lens_signaware.saes.state_dict import StateDictError

__all__ = [
    "ARCHITECTURE",
    "SignAwareGatedSAE",
    "SignAwareGatedSAEConfig",
    "SignAwareGatedTrainingSAE",
    "SignAwareGatedTrainingSAEConfig",
    "StateDictError",
]
