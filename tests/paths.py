"""Where the tests find the offline assets (``$SAE_SIGNAWARE_ASSETS``, else
``../shared/assets`` beside the checkout)."""

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ASSETS = Path(
    os.environ.get("SAE_SIGNAWARE_ASSETS") or REPO.parent / "shared" / "assets"
)
TINYSTORIES = ASSETS / "datasets" / "tinystories"
