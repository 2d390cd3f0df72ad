"""What the training commands (main job, sweep) share: the TinyStories stream
settings and the start of a run (output checked, threads set, hub offline,
model loaded), in that order, so that every check that needs no model runs
before the model loads."""

from pathlib import Path
from typing import TYPE_CHECKING, Any

from sae_lens_signaware_cli.assets import DEFAULT_MODEL, use_offline_hub
from sae_lens_signaware_cli.flags import set_threads

if TYPE_CHECKING:
    from sae_lens import HookedSAETransformer

#: How the commands stream TinyStories through the model: 128-token contexts,
#: SAE batches of 1024 tokens, a 32-batch shuffle buffer.
TINYSTORIES_STREAM: dict[str, Any] = {
    "model_class_name": "HookedTransformer",
    "dataset_trust_remote_code": False,
    "streaming": True,
    "context_size": 128,
    "train_batch_size_tokens": 1024,
    "store_batch_size_prompts": 16,
    "n_batches_in_buffer": 32,
    "n_batches_for_norm_estimate": 20,
}


def start_run(output: str | Path, overwrite: bool, threads: int) -> None:
    """Refuse an output that cannot be written, set the torch threads, and point
    the Hugging Face client at the offline hub cache."""
    from sae_lens_signaware.outputs import check_output_path

    check_output_path(output, overwrite)
    set_threads(threads)
    use_offline_hub()


def load_model(model_name: str = DEFAULT_MODEL) -> "HookedSAETransformer":
    """The ``HookedSAETransformer`` of ``model_name`` from the local hub cache."""
    from sae_lens_signaware.models import load_hooked_model

    return load_hooked_model(model_name)
