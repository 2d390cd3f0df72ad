"""Analysis of signed dictionaries: census, calibration, per-latent reports, steering."""

from sae_lens_signaware.analysis.calibration import Calibration, compute_calibration
from sae_lens_signaware.analysis.census import (
    Census,
    census_from_feature_acts,
    compute_census,
)
from sae_lens_signaware.analysis.latent_report import (
    LatentReport,
    direction_logits,
    latent_reports,
    logit_tables,
    signed_histogram,
)
from sae_lens_signaware.analysis.steering import steer_latent

__all__ = [
    "Calibration",
    "Census",
    "LatentReport",
    "census_from_feature_acts",
    "compute_calibration",
    "compute_census",
    "direction_logits",
    "latent_reports",
    "logit_tables",
    "signed_histogram",
    "steer_latent",
]
