"""The tutorial script runs, on a small budget."""

import importlib.util
from pathlib import Path

import pytest
import torch

pytestmark = pytest.mark.integration

TUTORIAL = Path(__file__).resolve().parents[2] / "tutorials" / "train_and_inspect.py"


def test_tutorial_runs(tmp_path, capsys) -> None:
    spec = importlib.util.spec_from_file_location("train_and_inspect", TUTORIAL)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    threads = torch.get_num_threads()
    metrics = module.main(tokens=4096, output=tmp_path / "tutorial")
    torch.set_num_threads(threads)
    assert (tmp_path / "tutorial" / "cfg.json").is_file()
    assert 0 < metrics["l0"] <= 512
    printed = capsys.readouterr().out
    assert "with the SAE spliced in" in printed and "strongest latents" in printed
