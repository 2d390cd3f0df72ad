"""Share SAEs on the Hugging Face Hub: export a repo folder, upload, model cards."""

from sae_lens_signaware.hub.card import SaeSummary, is_repo_card, repo_card, sae_card
from sae_lens_signaware.hub.export import export, sae_summaries
from sae_lens_signaware.hub.recovery import recover_leftovers
from sae_lens_signaware.hub.upload import HubUploadError, upload

__all__ = [
    "HubUploadError",
    "SaeSummary",
    "export",
    "is_repo_card",
    "recover_leftovers",
    "repo_card",
    "sae_card",
    "sae_summaries",
    "upload",
]
