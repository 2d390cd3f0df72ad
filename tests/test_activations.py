import math

import torch

from sae_lens_signaware.activations import shuffled_batches
from sae_lens_signaware.comparison.summary import interpolate_at_l0


def test_interpolation_is_linear_in_log_l0_and_never_extrapolates() -> None:
    points = [(4.0, 0.5), (16.0, 0.7), (64.0, 0.9)]
    assert interpolate_at_l0(points, 8.0) == 0.6
    assert math.isclose(interpolate_at_l0(points, 32.0) or 0, 0.8)
    assert interpolate_at_l0(points, 16.0) == 0.7
    assert interpolate_at_l0(points, 2.0) is None
    assert interpolate_at_l0(points, 100.0) is None


def test_shuffled_batches_cover_every_row_once_per_epoch() -> None:
    acts = torch.arange(20.0).unsqueeze(1)
    batches = shuffled_batches(acts, batch_size=5, seed=1)
    epoch = torch.cat([next(batches) for _ in range(4)])
    assert sorted(epoch.squeeze(1).tolist()) == list(range(20))
