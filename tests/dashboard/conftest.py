"""Fixtures of the dashboard tests: the site of three latents of a small SA-GSAE
(``signed_sae``, ``tinystories_model``: tests/conftest.py)."""

from typing import Any

import pytest

from tests.paths import TINYSTORIES


@pytest.fixture(scope="session")
def site(signed_sae, tinystories_model, tmp_path_factory) -> dict[str, Any]:
    """The dashboard of three top-ranked latents, built over 4096 validation tokens."""
    from sae_lens_signaware.activations import (
        collect_activations,
        read_texts,
        token_windows,
    )
    from sae_lens_signaware.analysis.census import compute_census
    from sae_lens_signaware.dashboard import build_dashboard
    from tests.signed_dictionary import HOOK

    model = tinystories_model
    tokens = token_windows(model, read_texts("validation", TINYSTORIES), 128, 4096)
    census = compute_census(signed_sae, collect_activations(model, tokens, HOOK))
    latents = census.ranking()[:3].tolist()
    out = tmp_path_factory.mktemp("dashboard")
    texts = read_texts("validation", TINYSTORIES)
    build_dashboard(
        signed_sae, model, out, texts, latents=latents, n_tokens=4096, steer_windows=4
    )
    return {"out": out, "latents": latents, "d_sae": signed_sae.cfg.d_sae}
