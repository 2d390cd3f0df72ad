"""``register``: idempotent for our own classes, refuses to replace another's."""

import importlib

import pytest
from sae_lens.registry import SAE_CLASS_REGISTRY, get_sae_class, get_sae_training_class
from sae_lens.saes.gated_sae import GatedSAE, GatedSAEConfig

import sae_lens_signaware
from sae_lens_signaware.registration import RegistrationConflictError, register


def test_import_registers_and_reload_is_harmless() -> None:
    assert get_sae_class("sign_aware_gated")[0].__name__ == "SignAwareGatedSAE"
    assert (
        get_sae_training_class("sign_aware_gated")[0].__name__
        == "SignAwareGatedTrainingSAE"
    )
    importlib.import_module("sae_lens_signaware")
    reloaded = importlib.reload(sae_lens_signaware)
    reloaded.register()
    register()
    assert get_sae_class("sign_aware_gated")[0].__name__ == "SignAwareGatedSAE"


def test_a_different_class_under_our_name_is_refused_and_named() -> None:
    ours = SAE_CLASS_REGISTRY["sign_aware_gated"]
    SAE_CLASS_REGISTRY["sign_aware_gated"] = (GatedSAE, GatedSAEConfig)
    try:
        with pytest.raises(
            RegistrationConflictError, match=r"sae_lens.saes.gated_sae.GatedSAE"
        ):
            register()
        assert SAE_CLASS_REGISTRY["sign_aware_gated"][0] is GatedSAE  # not replaced
    finally:
        SAE_CLASS_REGISTRY["sign_aware_gated"] = ours
