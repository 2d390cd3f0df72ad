import torch

from sae_lens_signaware.activations import shuffled_batches


def test_shuffled_batches_cover_every_row_once_per_epoch() -> None:
    acts = torch.arange(20.0).unsqueeze(1)
    batches = shuffled_batches(acts, batch_size=5, seed=1)
    epoch = torch.cat([next(batches) for _ in range(4)])
    assert sorted(epoch.squeeze(1).tolist()) == list(range(20))
