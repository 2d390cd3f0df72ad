"""``sae-signaware dashboard`` reads an SAE trained on a Hugging Face model
(hook names such as ``model.layers.1.mlp``) at the TransformerLens hook that
sees the same activations, or says which ``--hook`` to pass."""

import pytest

from sae_lens_signaware.models import transformer_lens_hook
from sae_lens_signaware_cli.dashboard import resolve_hook

KNOWN = [
    "hook_embed",
    "blocks.1.hook_resid_pre",
    "blocks.1.hook_attn_out",
    "blocks.1.hook_mlp_out",
    "blocks.1.hook_resid_post",
]


@pytest.mark.parametrize(
    ("hf_name", "tl_name"),
    [
        ("model.layers.1.mlp", "blocks.1.hook_mlp_out"),
        ("model.layers.1.self_attn", "blocks.1.hook_attn_out"),
        ("model.layers.1", "blocks.1.hook_resid_post"),
        ("model.layers.1.mlp.down_proj", None),
    ],
)
def test_hf_module_names_map_to_transformer_lens_hooks(
    hf_name: str, tl_name: str | None
) -> None:
    assert transformer_lens_hook(hf_name) == tl_name


def test_the_dashboard_reads_an_hf_trained_sae_at_the_matching_hook() -> None:
    assert resolve_hook("model.layers.1.mlp", None, KNOWN) == "blocks.1.hook_mlp_out"
    assert resolve_hook("blocks.1.hook_mlp_out", None, KNOWN) == "blocks.1.hook_mlp_out"
    assert resolve_hook("model.layers.1.mlp", "blocks.1.hook_resid_pre", KNOWN) == (
        "blocks.1.hook_resid_pre"
    )


@pytest.mark.parametrize("sae_hook", ["model.layers.1.mlp.down_proj", None])
def test_an_unknown_hook_says_which_hook_to_pass(sae_hook: str | None) -> None:
    with pytest.raises(ValueError, match=r"pass --hook .*blocks.1.hook_mlp_out"):
        resolve_hook(sae_hook, None, KNOWN)
