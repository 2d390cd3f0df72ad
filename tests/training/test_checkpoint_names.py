"""Data-parallel checkpoint names count the samples of every rank."""

import pytest

from sae_lens_signaware.training import data_parallel
from sae_lens_signaware.training.data_parallel import global_checkpoint_name


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("1024", "3072"),  # SAELens's periodic checkpoints
        ("final_1024", "final_3072"),  # and its final one
        ("512", "512"),  # another count: not this rank's, kept
        ("final_10240", "final_10240"),  # a count that only ends in ours
        ("best", "best"),
    ],
)
def test_sample_counts_in_names_become_global(
    monkeypatch: pytest.MonkeyPatch, name: str, expected: str
) -> None:
    monkeypatch.setattr(data_parallel, "world_size", lambda: 3)
    assert global_checkpoint_name(name, 1024) == expected


def test_one_process_keeps_every_name() -> None:
    assert global_checkpoint_name("final_1024", 1024) == "final_1024"
