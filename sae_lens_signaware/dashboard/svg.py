"""Inline SVG pieces for the dashboard: the signed histogram and the colour legend."""

from html import escape

from sae_lens_signaware.analysis.latent_report import SignedHistogram

RED = (214, 39, 40)
BLUE = (31, 119, 180)


def signed_colour(value: float, scale: float) -> str:
    """Background for a signed value: red for > 0, blue for < 0, alpha ``|v| / scale``."""
    if value == 0 or scale <= 0:
        return "transparent"
    r, g, b = RED if value > 0 else BLUE
    alpha = min(abs(value) / scale, 1.0)
    return f"rgba({r},{g},{b},{alpha:.3f})"


def _fmt(x: float) -> str:
    return f"{x:.3g}"


def histogram_svg(
    hist: SignedHistogram, width: int = 760, height: int = 220, title: str = ""
) -> str:
    """Bars of ``hist`` on a shared signed axis (negative bins blue, positive red)."""
    left, right, top, bottom = 48, 12, 22, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    lo, hi = hist.edges[0], hist.edges[-1]
    span = (hi - lo) or 1.0
    peak = max(hist.counts) or 1

    def x_of(v: float) -> float:
        return left + (v - lo) / span * plot_w

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="hist" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title or "histogram")}">',
        f'<text x="{left}" y="14" class="svg-title">{escape(title)}</text>',
    ]
    for a, b, n in zip(hist.edges[:-1], hist.edges[1:], hist.counts, strict=True):
        if n == 0:
            continue
        h = n / peak * plot_h
        r, g, bl = RED if a + b > 0 else BLUE
        parts.append(
            f'<rect x="{x_of(a) + 0.5:.1f}" y="{top + plot_h - h:.1f}" '
            f'width="{max(x_of(b) - x_of(a) - 1, 1):.1f}" height="{h:.1f}" '
            f'fill="rgb({r},{g},{bl})"><title>[{_fmt(a)}, {_fmt(b)}]: {n}</title></rect>'
        )
    base_y = top + plot_h
    parts.append(
        f'<line x1="{left}" y1="{base_y}" x2="{left + plot_w}" y2="{base_y}" class="axis"/>'
    )
    parts.append(
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{base_y}" class="axis"/>'
    )
    for frac in (0.0, 0.25, 0.5, 0.75, 1.0):
        v = lo + frac * span
        x = x_of(v)
        parts.append(
            f'<line x1="{x:.1f}" y1="{base_y}" x2="{x:.1f}" y2="{base_y + 4}" class="axis"/>'
        )
        parts.append(
            f'<text x="{x:.1f}" y="{base_y + 16}" text-anchor="middle" class="tick">'
            f"{_fmt(v)}</text>"
        )
    parts.append(
        f'<text x="{left - 6}" y="{top + 4}" text-anchor="end" class="tick">{peak}</text>'
        f'<text x="{left - 6}" y="{base_y}" text-anchor="end" class="tick">0</text>'
        f'<text x="{left + plot_w / 2:.1f}" y="{height - 2}" text-anchor="middle" '
        f'class="tick">signed activation</text>'
    )
    parts.append("</svg>")
    return "".join(parts)


def legend_svg(scale: float, width: int = 260, height: int = 34) -> str:
    """A blue-white-red colour bar labelled ``-scale``, 0, ``+scale``."""
    r, g, b = RED
    br, bg, bb = BLUE
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="legend" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="colour legend">'
        '<defs><linearGradient id="signed-scale" x1="0" x2="1" y1="0" y2="0">'
        f'<stop offset="0" stop-color="rgb({br},{bg},{bb})"/>'
        '<stop offset="0.5" stop-color="rgb(255,255,255)"/>'
        f'<stop offset="1" stop-color="rgb({r},{g},{b})"/>'
        "</linearGradient></defs>"
        f'<rect x="10" y="2" width="{width - 20}" height="12" fill="url(#signed-scale)" '
        'stroke="#999"/>'
        f'<text x="10" y="28" class="tick">{_fmt(-scale)} (negative)</text>'
        f'<text x="{width / 2:.0f}" y="28" text-anchor="middle" class="tick">0</text>'
        f'<text x="{width - 10}" y="28" text-anchor="end" class="tick">+{_fmt(scale)} '
        "(positive)</text></svg>"
    )
