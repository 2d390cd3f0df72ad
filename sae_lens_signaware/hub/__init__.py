"""Share SAEs on the Hugging Face Hub: export a repo folder, upload, model cards."""

from sae_lens_signaware.hub.card import SaeSummary, repo_card, sae_card
from sae_lens_signaware.hub.export import export, sae_summaries
from sae_lens_signaware.hub.upload import HubUploadError, upload

__all__ = [
    "HubUploadError",
    "SaeSummary",
    "export",
    "repo_card",
    "sae_card",
    "sae_summaries",
    "upload",
]
