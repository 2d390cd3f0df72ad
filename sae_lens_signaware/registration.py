"""Register ``"sign_aware_gated"`` with SAELens's registries, idempotently."""

from sae_lens.registry import SAE_CLASS_REGISTRY, SAE_TRAINING_CLASS_REGISTRY

from sae_lens_signaware.saes.sign_aware_gated_sae import (
    ARCHITECTURE,
    SignAwareGatedSAE,
    SignAwareGatedSAEConfig,
    SignAwareGatedTrainingSAE,
    SignAwareGatedTrainingSAEConfig,
)


def register() -> None:
    """Make the architecture known to SAELens.

    SAELens's ``register_sae_class`` refuses a second registration, which a
    module reload would trigger; writing the registry entries directly keeps
    re-imports and ``importlib.reload`` harmless and points the names at the
    newest classes.
    """
    SAE_CLASS_REGISTRY[ARCHITECTURE] = (SignAwareGatedSAE, SignAwareGatedSAEConfig)
    SAE_TRAINING_CLASS_REGISTRY[ARCHITECTURE] = (
        SignAwareGatedTrainingSAE,
        SignAwareGatedTrainingSAEConfig,
    )
