"""Names the studies' commands list in ``--help`` without importing torch
(``baselines.ARCHS`` checks that they agree with it)."""

#: every architecture of ``baselines.ARCHS``, in its order
ARCH_NAMES = (
    "sa_gsae",
    "sa_per_sign",
    "gated",
    "gated_fixed",
    "jumprelu",
    "topk",
    "batchtopk",
    "abstopk",
    "sa_one_sided",
    "sa_no_aux",
    "sa_untied",
)
#: the architectures the synthetic protocols train (no ``settled_from`` rerun;
#: the per-sign SA-GSAE came after the recorded protocol runs)
SYNTHETIC_ARCH_NAMES = tuple(
    name for name in ARCH_NAMES if name not in ("gated_fixed", "sa_per_sign")
)
#: cell name -> hook of layer ``{layer}`` (TransformerLens names)
CELLS = {
    "resid": "blocks.{layer}.hook_resid_post",
    "mlp_out": "blocks.{layer}.hook_mlp_out",
    "attn_out": "blocks.{layer}.hook_attn_out",
}
