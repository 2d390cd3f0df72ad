"""Static dashboard of a signed dictionary: both polarities of each latent, side by side.

The ``sae-signaware dashboard`` flags and runner are in
``sae_lens_signaware.dashboard.cli``.
"""

from sae_lens_signaware.dashboard.build import (
    DashboardData,
    build_dashboard,
    collect_dashboard_data,
    default_latents,
    write_dashboard,
)

__all__ = [
    "DashboardData",
    "build_dashboard",
    "collect_dashboard_data",
    "default_latents",
    "write_dashboard",
]
