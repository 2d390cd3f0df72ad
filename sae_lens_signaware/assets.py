"""Where the offline assets live, and the defaults that refer to them.

The shared assets sit beside the checkout (``../shared/assets``); set
``SAE_SIGNAWARE_ASSETS`` to point elsewhere. ``use_offline_hub()`` points the
Hugging Face client at the shared hub cache unless ``HF_HUB_CACHE`` is set.
"""

import os
from pathlib import Path

DEFAULT_MODEL = "raincandy-u/TinyStories-656K"
DEFAULT_HOOK = "blocks.1.hook_mlp_out"
ASSETS_ENV = "SAE_SIGNAWARE_ASSETS"


def assets_dir() -> Path:
    if ASSETS_ENV in os.environ:
        return Path(os.environ[ASSETS_ENV])
    return Path(__file__).resolve().parents[2] / "shared" / "assets"


def hub_cache_dir() -> Path:
    return assets_dir() / "hf-cache" / "hub"


def tinystories_dir() -> Path:
    return assets_dir() / "datasets" / "tinystories"


def use_offline_hub() -> None:
    """Read models from the shared hub cache (unless ``HF_HUB_CACHE`` is set), offline.

    ``huggingface_hub`` reads its environment once, at import, so the constants
    it already holds are updated too.
    """
    os.environ.setdefault("HF_HUB_CACHE", str(hub_cache_dir()))
    os.environ["HF_HUB_OFFLINE"] = "1"
    from huggingface_hub import constants

    constants.HF_HUB_CACHE = os.environ["HF_HUB_CACHE"]
    constants.HF_HUB_OFFLINE = True
