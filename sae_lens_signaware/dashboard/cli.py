"""``sae-signaware dashboard``: build the static dashboard of a saved signed SAE.

    sae-signaware dashboard --sae PATH --out DIR [--latents 1 2 3] [--n-tokens N]

``sae_lens_signaware.cli`` adds the flags (``add_arguments``) to its
``dashboard`` subcommand and runs ``run_dashboard``. The site is built in a
hidden sibling of ``--out`` and renamed into place complete
(``outputs.atomic_output``); an existing ``--out`` needs ``--overwrite``, and the
SAE, the model and the hook are checked before any work.
"""

import argparse
from pathlib import Path

from sae_lens_signaware.assets import DEFAULT_MODEL
from sae_lens_signaware.outputs import atomic_output, check_output_path
from sae_lens_signaware.user_errors import report_user_errors

HELP = "build a static dashboard (index + one page per latent) of a signed SAE"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--sae", required=True, help="folder of a saved SAE (SAE.load_from_disk)"
    )
    parser.add_argument("--out", required=True, help="output folder for the site")
    parser.add_argument(
        "--overwrite", action="store_true", help="replace an existing --out"
    )
    parser.add_argument(
        "--latents",
        type=int,
        nargs="+",
        default=None,
        help="latents to give pages (default: the --top-k ranked bipolar first, then by rarer-sign firing rate)",
    )
    parser.add_argument(
        "--top-k", type=int, default=12, help="pages when --latents is not given"
    )
    parser.add_argument(
        "--n-tokens", type=int, default=16_384, help="tokens of text to read"
    )
    parser.add_argument(
        "--model", default=DEFAULT_MODEL, help="model (local hub cache)"
    )
    parser.add_argument(
        "--hook",
        default=None,
        help="hook (default: the SAE's, else blocks.1.hook_mlp_out)",
    )
    parser.add_argument(
        "--split", default="validation", help="TinyStories split to read"
    )
    parser.add_argument(
        "--context-size", type=int, default=128, help="tokens per window"
    )
    parser.add_argument(
        "--steer-windows",
        type=int,
        default=16,
        help="windows for the +a/-a steering measurement (0: skip)",
    )
    parser.add_argument(
        "--threads", type=int, default=1, help="torch CPU threads (0: torch's)"
    )


def run_dashboard(args: argparse.Namespace) -> Path:
    """Load the model and the SAE, build the site; return the path of ``index.html``."""
    with report_user_errors():
        index = _build(args)
    print(f"dashboard written to {index}")
    return index


def _build(args: argparse.Namespace) -> Path:
    import torch

    import sae_lens_signaware  # noqa: F401  (registers the architecture)
    from sae_lens_signaware.assets import use_offline_hub
    from sae_lens_signaware.checks import check_d_in
    from sae_lens_signaware.dashboard.build import build_dashboard, sae_hook_name
    from sae_lens_signaware.loading import load_sae
    from sae_lens_signaware.models import load_hooked_model

    out = check_output_path(args.out, args.overwrite)
    sae = load_sae(args.sae)
    if args.threads:
        torch.set_num_threads(args.threads)
    use_offline_hub()
    model = load_hooked_model(args.model)
    hook = args.hook or sae_hook_name(sae)
    check_d_in(model, hook, sae.cfg.d_in)  # names a mistyped --hook
    with atomic_output(out, overwrite=args.overwrite) as staging:
        index = build_dashboard(
            sae,
            model,
            staging,
            latents=args.latents,
            n_tokens=args.n_tokens,
            hook_name=hook,
            split=args.split,
            context_size=args.context_size,
            top_k=args.top_k,
            steer_windows=args.steer_windows,
        )
    return out / index.relative_to(staging)


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(prog="sae-signaware dashboard", description=HELP)
    add_arguments(parser)
    return run_dashboard(parser.parse_args(argv))


if __name__ == "__main__":
    main()
