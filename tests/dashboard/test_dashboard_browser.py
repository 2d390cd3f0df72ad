"""Load the dashboard in headless Chromium (DevTools protocol): no console errors,
no exceptions, no request leaving the site, and a screenshot with real content.

Skipped only when Chromium is not installed (``apt-get install -y chromium``)."""

from pathlib import Path

import pytest

from tests.dashboard.cdp import Browser, PageResult, find_chromium, png_pixels

pytest.importorskip("websocket", reason="websocket-client (dev extra) drives Chromium")
pytestmark = pytest.mark.skipif(
    find_chromium() is None,
    reason="chromium is not installed (apt-get install -y chromium); CI installs it",
)

PROBES = {
    "tokens": "document.querySelectorAll('.tok').length",
    "negative_tokens": "Array.from(document.querySelectorAll('.col.neg .tok')).filter(e => e.style.background.startsWith('rgba(31, 119, 180')).length",
    "positive_tokens": "Array.from(document.querySelectorAll('.col.pos .tok')).filter(e => e.style.background.startsWith('rgba(214, 39, 40')).length",
    "histogram_bars": "document.querySelectorAll('svg.hist rect').length",
    "logit_rows": "document.querySelectorAll('.logits tbody tr').length",
    "page_width": "document.documentElement.scrollWidth",
}


@pytest.fixture(scope="module")
def browser():
    with Browser(width=1280, height=900) as b:
        yield b


def colour_counts(png: bytes) -> tuple[int, int, int]:
    """Distinct colours, red-ish and blue-ish pixels of an RGB(A) PNG."""
    w, _, bpp, rows = png_pixels(png)
    colours, red, blue = set(), 0, 0
    for row in rows:
        for x in range(0, w * bpp, bpp):
            r, g, b = row[x], row[x + 1], row[x + 2]
            colours.add((r, g, b))
            red += r > 150 and g < 110 and b < 110
            blue += b > 140 and r < 100
    return len(colours), red, blue


def assert_clean(result: PageResult, site: Path) -> None:
    assert result.errors == []
    assert result.console == []  # the pages log nothing at all
    outside = [u for u in result.requests if not u.startswith((site.as_uri(), "data:"))]
    assert outside == []


def test_latent_pages_load_cleanly_and_show_both_signs(
    browser, site: dict, tmp_path: Path
) -> None:
    out = site["out"]
    for i in site["latents"]:
        result = browser.load((out / f"latent_{i}.html").as_uri(), probes=PROBES)
        assert_clean(result, out)
        p = result.probes
        assert p["negative_tokens"] > 0 and p["positive_tokens"] > 0, p
        assert p["histogram_bars"] > 4 and p["logit_rows"] == 40, p
        assert p["page_width"] <= 1280, "the page scrolls sideways"
        png = result.screenshot
        (tmp_path / f"latent_{i}.png").write_bytes(png)
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 30_000
    n_colours, red, blue = colour_counts(png)
    assert n_colours > 100 and red > 500 and blue > 500, (n_colours, red, blue)


def test_index_loads_cleanly_and_sorts(browser, site: dict) -> None:
    out = site["out"]
    sort = (
        "(() => { document.querySelectorAll('table.sortable th')[1].click();"
        " const v = Array.from(document.querySelectorAll('table.sortable tbody tr'))"
        "   .map(r => parseFloat(r.cells[1].getAttribute('data-v')));"
        " return v.every((x, j) => j === 0 || v[j - 1] >= x) && v.length; })()"
    )
    links = (
        "Array.from(document.querySelectorAll('a')).map(a => a.getAttribute('href'))"
    )
    result = browser.load(
        (out / "index.html").as_uri(), probes={"sorted": sort, "links": links}
    )
    assert_clean(result, out)
    assert result.probes["sorted"] == site["d_sae"]
    assert {f"latent_{i}.html" for i in site["latents"]} <= set(result.probes["links"])
    assert len(result.screenshot) > 30_000


def test_the_harness_catches_errors_and_outside_requests(
    browser, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.html"
    bad.write_text(
        "<!DOCTYPE html><html><body><p>x</p><img src='http://127.0.0.1:9/x.png'>"
        "<script>console.error('boom'); missingFunction();</script></body></html>"
    )
    result = browser.load(bad.as_uri())
    assert any("boom" in e for e in result.errors)
    assert any("missingFunction" in e for e in result.errors)
    assert "http://127.0.0.1:9/x.png" in result.requests
