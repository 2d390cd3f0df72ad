import json
import re
from pathlib import Path

import pytest

from sae_lens_signaware.activations import read_texts
from sae_lens_signaware.dashboard import build_dashboard
from sae_lens_signaware_cli.cli import main as cli_main
from tests.paths import TINYSTORIES

TEXTS = read_texts("validation", TINYSTORIES)[:200]

EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", re.I)


def test_site_files_and_links(site: dict) -> None:
    out, latents = site["out"], site["latents"]
    assert (out / "index.html").is_file() and (out / "data.json").is_file()
    index = (out / "index.html").read_text()
    for i in latents:
        assert (out / f"latent_{i}.html").is_file()
        assert f'href="latent_{i}.html"' in index
        assert (out / "json" / f"latent_{i}.json").is_file()
    for html in out.glob("*.html"):
        text = html.read_text()
        assert not EXTERNAL.search(text), f"{html.name} refers to an external resource"
        assert "<script src" not in text
    data = json.loads((out / "data.json").read_text())
    assert data["pages"] == sorted(latents)
    assert len(data["latents"]) == site["d_sae"]
    assert set(data["steering"]) == {str(i) for i in latents}


def test_latent_page_shows_both_polarities(site: dict) -> None:
    i = site["latents"][0]
    text = (site["out"] / f"latent_{i}.html").read_text()
    assert "Negative side" in text and "Positive side" in text
    assert f"&minus;W_dec[{i}]" in text and f"+W_dec[{i}]" in text
    assert text.count('class="ctx"') >= 2 and "<svg" in text
    assert (
        "rgba(214,39,40," in text and "rgba(31,119,180," in text
    )  # red and blue tokens


def test_neuronpedia_records(site: dict) -> None:
    for i in site["latents"]:
        rec = json.loads((site["out"] / "json" / f"latent_{i}.json").read_text())
        pos, neg = rec["features"]
        signed = rec["signed"]
        assert (pos["index"], neg["index"], signed["index"]) == (
            str(2 * i),
            str(2 * i + 1),
            str(i),
        )
        assert (pos["polarity"], neg["polarity"], signed["polarity"]) == (
            "positive",
            "negative",
            "signed",
        )
        # -W_dec[i] promotes what +W_dec[i] suppresses
        assert neg["pos_str"] == pos["neg_str"] and neg["neg_str"] == pos["pos_str"]
        assert neg["pos_values"] == [-v for v in pos["neg_values"]]
        for feat in (pos, neg, signed):
            for key in (
                "modelId",
                "layer",
                "hookName",
                "maxActApprox",
                "frac_nonzero",
                "activations",
            ):
                assert key in feat
            for name in ("freq_hist_data_bar", "logits_hist_data_bar"):
                assert len(feat[f"{name}_values"]) == len(feat[f"{name}_heights"]) > 0
                assert feat[f"{name}_values"] == sorted(feat[f"{name}_values"])
            assert feat["pos_values"] == sorted(feat["pos_values"], reverse=True)
        assert pos["frac_nonzero"] + neg["frac_nonzero"] == pytest.approx(
            signed["frac_nonzero"]
        )
        assert sum(pos["freq_hist_data_bar_heights"]) + sum(
            neg["freq_hist_data_bar_heights"]
        ) == sum(signed["freq_hist_data_bar_heights"])
        for feat in (pos, neg):
            assert feat["activations"], f"latent {i} {feat['polarity']} has no examples"
            for act in feat["activations"]:
                assert len(act["tokens"]) == len(act["values"])
                assert (
                    min(act["values"]) >= 0
                )  # Neuronpedia's activations are non-negative
                assert (
                    act["maxValue"]
                    == max(act["values"])
                    == act["values"][act["maxValueTokenIndex"]]
                )
                assert act["maxValue"] <= feat["maxActApprox"] + 1e-3
            assert feat["activations"][0]["maxValue"] == pytest.approx(
                feat["maxActApprox"], abs=1e-3
            )
        assert {a["maxValue"] > 0 for a in signed["activations"]} == {True, False}


def test_default_latents_are_the_top_ranked(
    signed_sae, tinystories_model, tmp_path: Path
) -> None:
    index = build_dashboard(
        signed_sae,
        tinystories_model,
        tmp_path,
        TEXTS,
        n_tokens=1024,
        top_k=2,
        steer_windows=0,
    )
    data = json.loads((index.parent / "data.json").read_text())
    ranked = [row["latent"] for row in data["latents"]]
    assert data["pages"] == sorted(ranked[:2])
    assert data["steering"] == {}


def test_bad_latent_is_refused(signed_sae, tinystories_model, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="out of range"):
        build_dashboard(
            signed_sae,
            tinystories_model,
            tmp_path,
            TEXTS,
            latents=[10_000],
            n_tokens=256,
        )


def test_cli(signed_sae, tmp_path: Path) -> None:
    """``sae-signaware dashboard`` through the package's top-level entry point."""
    signed_sae.save_model(tmp_path / "sae")
    argv = [
        "dashboard",
        "--sae",
        str(tmp_path / "sae"),
        "--latents",
        "1",
        "2",
        "3",
        "--output",
        str(tmp_path / "site"),
        "--n-tokens",
        "512",
        "--steer-windows",
        "1",
    ]
    cli_main(argv)
    assert (tmp_path / "site" / "index.html").exists()
    assert {p.name for p in (tmp_path / "site").glob("latent_*.html")} == {
        "latent_1.html",
        "latent_2.html",
        "latent_3.html",
    }
