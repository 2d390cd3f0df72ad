"""``sae-signaware dashboard``: the static two-polarity dashboard of a saved SAE.

    sae-signaware dashboard --sae PATH --output DIR [--latents 1 2 3] [--n-tokens N]

The site is built in a hidden sibling of ``--output`` and renamed into place
complete; an existing ``--output`` needs ``--overwrite``, and the SAE, the model
and the hook are checked before any work. An SAE trained on a Hugging Face
model (hook names such as ``model.layers.1.mlp``) is read at the matching
TransformerLens hook (``blocks.1.hook_mlp_out``).
"""

import argparse
from pathlib import Path

from sae_lens_signaware_cli.assets import DEFAULT_MODEL
from sae_lens_signaware_cli.flags import (
    add_flag,
    add_output,
    add_threads,
    non_negative_int,
    positive_int,
    set_threads,
)

DESCRIPTION = __doc__


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_flag(
        parser, "--sae", required=True, help="folder of a saved SAE (load_from_disk)"
    )
    add_output(parser, None, "the site")
    add_flag(
        parser,
        "--latents",
        type=non_negative_int,
        nargs="+",
        default=None,
        help="latents to give pages (default: the --top-k first, bipolar first, "
        "then by rarer-sign firing rate)",
    )
    add_flag(
        parser,
        "--top-k",
        type=positive_int,
        default=12,
        help="pages when --latents is not given (default 12)",
    )
    add_flag(
        parser,
        "--n-tokens",
        type=positive_int,
        default=16_384,
        help="tokens of text to read (default 16,384)",
    )
    add_flag(
        parser,
        "--model",
        default=DEFAULT_MODEL,
        help=f"model in the local hub cache (default {DEFAULT_MODEL})",
    )
    add_flag(
        parser,
        "--hook",
        default=None,
        help="TransformerLens hook to read (default: the SAE's own hook)",
    )
    add_flag(
        parser,
        "--dataset-path",
        default=None,
        help="folder of {split}.jsonl text (default: the offline TinyStories)",
    )
    add_flag(
        parser, "--split", default="validation", help="text split (default validation)"
    )
    add_flag(
        parser,
        "--context-size",
        type=positive_int,
        default=128,
        help="tokens per window (default 128)",
    )
    add_flag(
        parser,
        "--steer-windows",
        type=non_negative_int,
        default=16,
        help="windows for the +a/-a steering measurement (0: skip; default 16)",
    )
    add_threads(parser)


def run(args: argparse.Namespace) -> Path:
    """Load the model and the SAE, build the site; return the path of ``index.html``."""
    from sae_lens_signaware_cli.errors import report_user_errors

    with report_user_errors():
        index = build(args)
    print(
        f"wrote the dashboard ({len(list(index.parent.glob('latent_*.html')))} "
        f"latent pages) to {index.parent}; open {index}"
    )
    return index


def resolve_hook(sae_hook: str | None, given: str | None, known: list[str]) -> str:
    """The TransformerLens hook to read: ``given``, else the SAE's own hook, else
    its TransformerLens name; a ValueError saying which ``--hook`` to pass."""
    from sae_lens_signaware.models import transformer_lens_hook

    if given:
        return given
    if sae_hook and sae_hook in known:
        return sae_hook
    mapped = transformer_lens_hook(sae_hook) if sae_hook else None
    if mapped and mapped in known:
        return mapped
    where = f"its hook {sae_hook!r} is not" if sae_hook else "it names no hook, so it"
    raise ValueError(
        f"the SAE cannot be read on this model: {where} a TransformerLens hook; "
        "pass --hook with the hook it was trained on, e.g. "
        + ", ".join(h for h in known if h.endswith(("mlp_out", "resid_post")))[:200]
    )


def build(args: argparse.Namespace) -> Path:
    from sae_lens_signaware.activations import read_texts
    from sae_lens_signaware.checks import check_d_in
    from sae_lens_signaware.dashboard.build import build_dashboard
    from sae_lens_signaware.loading import load_sae
    from sae_lens_signaware.models import load_hooked_model
    from sae_lens_signaware.outputs import atomic_output, check_output_path
    from sae_lens_signaware_cli.assets import tinystories_dir, use_offline_hub

    out = check_output_path(args.output, args.overwrite)
    sae = load_sae(args.sae)
    set_threads(args.threads)
    dataset = Path(args.dataset_path) if args.dataset_path else tinystories_dir()
    texts = read_texts(args.split, dataset)
    use_offline_hub()
    model = load_hooked_model(args.model)
    hook = resolve_hook(sae.cfg.metadata.hook_name, args.hook, list(model.hook_dict))
    check_d_in(model, hook, sae.cfg.d_in)  # names a mistyped --hook
    with atomic_output(out, overwrite=args.overwrite) as staging:
        index = build_dashboard(
            sae,
            model,
            staging,
            texts,
            latents=args.latents,
            n_tokens=args.n_tokens,
            hook_name=hook,
            context_size=args.context_size,
            top_k=args.top_k,
            steer_windows=args.steer_windows,
            source=f"{dataset.name} {args.split}",
        )
    return out / index.relative_to(staging)
