"""The demo defaults of the commands: the offline model and text beside the checkout.

The shared assets are found in ``$SAE_SIGNAWARE_ASSETS`` if set, else as
``shared/assets`` beside the current folder or one of its parents (a checkout
with ``../shared`` next to it). ``use_offline_hub()`` points the Hugging Face
client at their hub cache (unless ``HF_HUB_CACHE`` is set) and turns it
offline. The library itself takes every path as an argument.
"""

import os
from pathlib import Path

DEFAULT_MODEL = "raincandy-u/TinyStories-656K"
DEFAULT_HOOK = "blocks.1.hook_mlp_out"
ASSETS_ENV = "SAE_SIGNAWARE_ASSETS"


class AssetsNotFoundError(FileNotFoundError):
    """No offline assets folder was found."""


def assets_dir() -> Path:
    """The shared assets folder (see the module docstring)."""
    if os.environ.get(ASSETS_ENV):
        path = Path(os.environ[ASSETS_ENV])
        if not path.is_dir():
            raise AssetsNotFoundError(
                f"{ASSETS_ENV}={path} is not a folder; point it at the shared assets"
            )
        return path
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        candidate = folder.parent / "shared" / "assets"
        if candidate.is_dir():
            return candidate
    raise AssetsNotFoundError(
        f"no shared/assets folder beside {here} or its parents; set {ASSETS_ENV} "
        "to the folder holding hf-cache/ and datasets/"
    )


def hub_cache_dir() -> Path:
    return assets_dir() / "hf-cache" / "hub"


def tinystories_dir() -> Path:
    return assets_dir() / "datasets" / "tinystories"


def use_offline_hub() -> None:
    """Read models from the shared hub cache (unless ``HF_HUB_CACHE`` is set), offline.

    ``huggingface_hub`` reads its environment once, at import, so the constants
    it already holds are updated too.
    """
    if not os.environ.get("HF_HUB_CACHE"):
        os.environ["HF_HUB_CACHE"] = str(hub_cache_dir())
    os.environ["HF_HUB_OFFLINE"] = "1"
    from huggingface_hub import constants

    constants.HF_HUB_CACHE = os.environ["HF_HUB_CACHE"]
    constants.HF_HUB_OFFLINE = True
