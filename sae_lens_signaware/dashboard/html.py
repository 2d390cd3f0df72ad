"""Static HTML for the dashboard: an index of latents and one page per latent.

Pages are self-contained (inline CSS and SVG, one small inline script on the
index to sort its table) and load nothing from the network.
"""

from collections.abc import Sequence
from html import escape
from typing import Any

from sae_lens_signaware.analysis.latent_report import Context, LatentReport
from sae_lens_signaware.dashboard.svg import histogram_svg, legend_svg, signed_colour

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:20px 28px;color:#222}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:18px 0 6px}
h3{font-size:14px;margin:12px 0 4px} .muted{color:#666;font-size:13px}
table{border-collapse:collapse;font-size:13px} td,th{padding:2px 8px;text-align:right}
th{background:#f2f2f2;cursor:default} td.l,th.l{text-align:left}
tr:nth-child(even) td{background:#fafafa}
.cols{display:flex;gap:24px;align-items:flex-start}
.col{flex:1 1 0;min-width:0;border-top:4px solid #ccc;padding-top:4px}
.col.neg{border-color:rgb(31,119,180)} .col.pos{border-color:rgb(214,39,40)}
.neg h2{color:rgb(31,119,180)} .pos h2{color:rgb(214,39,40)}
.ctx{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12.5px;line-height:1.9;
 margin:3px 0;padding:3px 6px;border:1px solid #eee;border-radius:4px;word-break:break-word}
.tok{white-space:pre-wrap;border-radius:2px;padding:1px 0}
.tok.q{outline:2px solid #333;outline-offset:0}
.val{float:right;color:#555;font-size:11.5px;margin-left:6px}
.logits{display:flex;gap:12px} .logits table{flex:1}
.tokcell{font-family:ui-monospace,Menlo,Consolas,monospace;white-space:pre}
.stats td:first-child{text-align:left;color:#444}
.svg-title{font-size:13px;font-weight:600} .tick{font-size:11px;fill:#444}
.axis{stroke:#444;stroke-width:1}
.yes{color:#0a7d2c;font-weight:600} .stats td{white-space:nowrap}
.legendrow{display:flex;align-items:center;gap:8px;font-size:12px;color:#444;margin-left:48px}
"""

SORT_SCRIPT = """
document.querySelectorAll("table.sortable th").forEach(function (th, col) {
  th.style.cursor = "pointer";
  th.addEventListener("click", function () {
    var body = th.closest("table").tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var desc = th.getAttribute("data-desc") !== "1";
    th.setAttribute("data-desc", desc ? "1" : "0");
    rows.sort(function (a, b) {
      var x = parseFloat(a.cells[col].getAttribute("data-v"));
      var y = parseFloat(b.cells[col].getAttribute("data-v"));
      return desc ? y - x : x - y;
    });
    rows.forEach(function (r) { body.appendChild(r); });
  });
});
"""


def page(title: str, body: str, script: str = "") -> str:
    tail = f"<script>{script}</script>" if script else ""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{CSS}</style>"
        '<link rel="icon" href="data:,"></head>'
        f"<body>{body}{tail}</body></html>\n"
    )


def latent_href(i: int) -> str:
    return f"latent_{i}.html"


def _tok(text: str) -> str:
    """A token for display: newlines as a visible mark, empty as the empty-set sign."""
    return escape(text).replace("\n", "&#8629;") if text else "&#8709;"


def context_html(ctx: Context, scale: float) -> str:
    spans = []
    for j, (text, v) in enumerate(zip(ctx.tokens, ctx.values, strict=True)):
        light = abs(v) / scale > 0.6 if scale > 0 else False
        style = f"background:{signed_colour(v, scale)}" + (
            ";color:#fff" if light else ""
        )
        cls = "tok q" if j == ctx.offset else "tok"
        spans.append(
            f'<span class="{cls}" style="{style}" title="{v:+.3f}">{_tok(text)}</span>'
        )
    return f'<div class="ctx"><span class="val">{ctx.value:+.2f}</span>{"".join(spans)}</div>'


def _logit_table(title: str, tokens: Sequence[str], values: Sequence[float]) -> str:
    rows = "".join(
        f'<tr><td class="l tokcell">{_tok(t)}</td><td>{v:+.3f}</td></tr>'
        for t, v in zip(tokens, values, strict=True)
    )
    return f'<table><thead><tr><th class="l">{title}</th><th>logit</th></tr></thead><tbody>{rows}</tbody></table>'


def _side(
    report: LatentReport, sign: str, row: dict[str, Any], fit: dict[str, Any]
) -> str:
    name, arrow = ("Positive", "+") if sign == "pos" else ("Negative", "&minus;")
    logits = report.logits[sign]
    contexts = report.contexts[sign]
    ctx_html = "".join(context_html(c, report.max_abs) for c in contexts) or (
        '<p class="muted">never fired with this sign</p>'
    )
    return (
        f'<div class="col {sign}"><h2>{name} side (f &{"gt" if sign == "pos" else "lt"}; 0)</h2>'
        f'<p class="muted">fires on {row[f"rate_{sign}"]:.3%} of tokens ({row[f"n_{sign}"]}), '
        f"max |f| {row[f'max_{sign}']:.3g}, {row['energy_share_pos' if sign == 'pos' else 'energy_share_neg']:.1%} "
        f"of its reconstruction energy; calibration slope {fit['slope']:.3g}, gain {fit['gain']:.3g}, "
        f"r {fit['r']:.2f}</p>"
        f"<h3>Direct logit effect of {arrow}W_dec[{report.latent}]</h3>"
        '<div class="logits">'
        + _logit_table("promoted", logits["promoted"].tokens, logits["promoted"].values)
        + _logit_table(
            "suppressed", logits["suppressed"].tokens, logits["suppressed"].values
        )
        + f"</div><h3>Top contexts ({len(contexts)})</h3>{ctx_html}</div>"
    )


def _stats_table(rows: Sequence[tuple[str, str]]) -> str:
    body = "".join(f"<tr><td>{k}</td><td>{v}</td></tr>" for k, v in rows)
    return f'<table class="stats"><tbody>{body}</tbody></table>'


def _steering_rows(steer: dict[str, Any] | None) -> list[tuple[str, str]]:
    if not steer:
        return []
    p, m = steer["plus"], steer["minus"]
    return [
        ("steer value a", f"{steer['value']:.3g}"),
        ("KL(clean || f=+a) / (f=&minus;a)", f"{p['kl']:.4f} / {m['kl']:.4f}"),
        (
            "&Delta; log p promoted, +a / &minus;a",
            f"{p['delta_logprob_promoted']:+.3f} / {m['delta_logprob_promoted']:+.3f}",
        ),
        (
            "&Delta; log p suppressed, +a / &minus;a",
            f"{p['delta_logprob_suppressed']:+.3f} / {m['delta_logprob_suppressed']:+.3f}",
        ),
        ("two-way dial", '<span class="yes">yes</span>' if steer["two_way"] else "no"),
    ]


def latent_page(
    report: LatentReport,
    row: dict[str, Any],
    calibration: dict[str, dict[str, float]],
    steering: dict[str, Any] | None,
    meta: dict[str, Any],
) -> str:
    """One latent: census numbers, the shared histogram, both polarities side by side."""
    i = report.latent
    row = {**row, "energy_share_neg": 1.0 - row["energy_share_pos"]}
    stats = [
        (
            "tokens fired (+ / &minus;)",
            f"{row['n_pos']} / {row['n_neg']} of {meta['n_tokens']}",
        ),
        ("frac nonzero", f"{row['frac_nonzero']:.3%}"),
        ("balance (n+ &minus; n&minus;)/(n+ + n&minus;)", f"{row['balance']:+.3f}"),
        ("bipolarity 1 &minus; |balance|", f"{row['bipolarity']:.3f}"),
        ("bipolar", '<span class="yes">yes</span>' if row["bipolar"] else "no"),
        (
            "energy share + / &minus;",
            f"{row['energy_share_pos']:.1%} / {row['energy_share_neg']:.1%}",
        ),
        ("share of dictionary energy", f"{row['share_of_dictionary_energy']:.3%}"),
        *_steering_rows(steering),
    ]
    hist = histogram_svg(
        report.histogram, title=f"Latent {i}: nonzero values, bins shared by both signs"
    )
    body = (
        f'<p><a href="index.html">&larr; all latents</a></p>'
        f"<h1>Latent {i}</h1>"
        f'<p class="muted">{escape(meta["model"])} &middot; {escape(meta["hook_name"])} &middot; '
        f"{meta['n_tokens']} tokens of {escape(meta['split'])}</p>"
        f'<div class="cols"><div>{_stats_table(stats)}</div><div>{hist}'
        f'<div class="legendrow">token colour {legend_svg(report.max_abs)}</div></div></div>'
        '<div class="cols">'
        + _side(report, "neg", row, calibration["neg"])
        + _side(report, "pos", row, calibration["pos"])
        + f'</div><p class="muted">JSON (Neuronpedia feature records): '
        f'<a href="json/latent_{i}.json">json/latent_{i}.json</a></p>'
    )
    return page(f"Latent {i}", body)


COLUMNS = (
    ("frac nonzero", "frac_nonzero", "{:.3%}"),
    ("rate +", "rate_pos", "{:.3%}"),
    ("rate &minus;", "rate_neg", "{:.3%}"),
    ("balance", "balance", "{:+.2f}"),
    ("bipolarity", "bipolarity", "{:.2f}"),
    ("rarer-sign rate", "rarer_rate", "{:.3%}"),
    ("bipolar", "bipolar", "{}"),
    ("energy +", "energy_share_pos", "{:.0%}"),
    ("dict. energy", "share_of_dictionary_energy", "{:.2%}"),
    ("max +", "max_pos", "{:.3g}"),
    ("max &minus;", "max_neg", "{:.3g}"),
)


def index_page(
    rows: Sequence[dict[str, Any]],
    summary: dict[str, float],
    pages: set[int],
    meta: dict[str, Any],
) -> str:
    """All latents in ``rows``' order (``Census.ranking``); links to the pages built."""
    head = '<th class="l">latent</th>' + "".join(
        f"<th>{name}</th>" for name, _, _ in COLUMNS
    )
    body_rows = []
    for rank, row in enumerate(rows):
        i = row["latent"]
        link = f'<a href="{latent_href(i)}">{i}</a>' if i in pages else str(i)
        cells = [f'<td class="l" data-v="{rank}">{link}</td>']
        for _, key, fmt in COLUMNS:
            v = row[key]
            shown = ("yes" if v else "") if isinstance(v, bool) else fmt.format(v)
            cells.append(f'<td data-v="{float(v)}">{shown}</td>')
        body_rows.append(f"<tr>{''.join(cells)}</tr>")
    summary_rows = [
        ("tokens", f"{summary['n_tokens']:.0f}"),
        ("latents", f"{summary['d_sae']:.0f}"),
        (
            "L0 (+ / &minus;)",
            f"{summary['l0']:.2f} ({summary['l0_positive']:.2f} / {summary['l0_negative']:.2f})",
        ),
        ("dead", f"{summary['dead_fraction']:.1%}"),
        ("fire with both signs", f"{summary['both_signs_fraction']:.1%}"),
        (
            f"bipolar (rarer sign &ge; {summary['bipolar_min_count']:.0f} tokens and &ge; "
            f"{summary['bipolar_min_fraction']:.0%} of firings)",
            f"{summary['bipolar_fraction']:.1%}",
        ),
        ("negative share of firings", f"{summary['negative_share_of_firing']:.1%}"),
        (
            "negative share of reconstruction energy",
            f"{summary['negative_share_of_energy']:.1%}",
        ),
    ]
    body = (
        "<h1>Signed dictionary</h1>"
        f'<p class="muted">{escape(meta["model"])} &middot; {escape(meta["hook_name"])} &middot; '
        f"{meta['n_tokens']} tokens of {escape(meta['split'])} &middot; {len(pages)} latent pages</p>"
        + _stats_table(summary_rows)
        + '<h2>Latents</h2><p class="muted">Ranked bipolar first, then by the firing rate of '
        "the rarer sign (activity &times; bipolarity / 2), then by firing rate; "
        "click a header to sort. balance = (n+ &minus; n&minus;)/(n+ + n&minus;); "
        "energy + = share of the latent's reconstruction energy carried by positive values.</p>"
        f'<table class="sortable"><thead><tr>{head}</tr></thead><tbody>{"".join(body_rows)}</tbody></table>'
    )
    return page("Signed dictionary", body, SORT_SCRIPT)
