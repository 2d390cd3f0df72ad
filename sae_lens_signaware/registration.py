"""Register ``"sign_aware_gated"`` with SAELens's registries.

Idempotent for our own classes (a re-import or ``importlib.reload`` points the
name at the newest ones); a different class already registered under the name
is refused, naming it, rather than silently replaced.
"""

from typing import Any

from sae_lens.registry import SAE_CLASS_REGISTRY, SAE_TRAINING_CLASS_REGISTRY

from sae_lens_signaware.saes import (
    ARCHITECTURE,
    SignAwareGatedSAE,
    SignAwareGatedSAEConfig,
    SignAwareGatedTrainingSAE,
    SignAwareGatedTrainingSAEConfig,
)


class RegistrationConflictError(RuntimeError):
    """Another package registered a different class as ``"sign_aware_gated"``."""


def _is_ours(cls: type[Any], ours: type[Any]) -> bool:
    # a reloaded module gives new class objects with the same qualified name
    return (cls.__module__, cls.__qualname__) == (ours.__module__, ours.__qualname__)


def _check_slot(registry: dict[str, Any], classes: tuple[type[Any], ...]) -> None:
    existing = registry.get(ARCHITECTURE)
    if existing is None:
        return
    for found, ours in zip(existing, classes, strict=True):
        if not _is_ours(found, ours):
            raise RegistrationConflictError(
                f"SAELens already has {found.__module__}.{found.__qualname__} "
                f"registered as {ARCHITECTURE!r}; sae_lens_signaware will not "
                "replace it (uninstall or unregister the other package)"
            )


def register() -> None:
    """Make the architecture known to SAELens (inference and training)."""
    inference = (SignAwareGatedSAE, SignAwareGatedSAEConfig)
    training = (SignAwareGatedTrainingSAE, SignAwareGatedTrainingSAEConfig)
    _check_slot(SAE_CLASS_REGISTRY, inference)
    _check_slot(SAE_TRAINING_CLASS_REGISTRY, training)
    SAE_CLASS_REGISTRY[ARCHITECTURE] = inference
    SAE_TRAINING_CLASS_REGISTRY[ARCHITECTURE] = training
