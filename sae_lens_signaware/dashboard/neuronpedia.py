"""Latents as Neuronpedia feature records.

Neuronpedia's feature pages read one record per feature (its ``Neuron`` row):
``modelId``, ``layer`` (the SAE id), ``index``, ``maxActApprox``, ``frac_nonzero``,
``pos_str``/``pos_values`` and ``neg_str``/``neg_values`` (the top and bottom
direct logit effects), parallel ``freq_hist_data_bar_values``/``_heights`` (bin
centres and counts of the nonzero activations), ``logits_hist_data_bar_*`` (the
same over the vocabulary's logit effects), and ``activations``: snippets with
``tokens``, ``values``, ``maxValue``, ``maxValueTokenIndex``, ``minValue``.

Neuronpedia assumes activations >= 0, so each signed latent ``i`` becomes two
features: ``index = 2i`` (``polarity = "positive"``: ``max(f_i, 0)`` along
``+W_dec[i]``) and ``2i + 1`` (``"negative"``: ``max(-f_i, 0)`` along ``-W_dec[i]``,
whose promoted tokens are ``+W_dec[i]``'s suppressed ones). A third record,
``polarity = "signed"`` with ``index = i``, keeps the signed values in one place.
"""

from typing import Any

from sae_lens_signaware.analysis.latent_report import (
    Context,
    LatentReport,
    SignedHistogram,
)

EMPTY_FIELDS = (
    "neuron_alignment_indices",
    "neuron_alignment_values",
    "neuron_alignment_l1",
    "correlated_neurons_indices",
    "correlated_neurons_pearson",
    "correlated_neurons_l1",
    "correlated_features_indices",
    "correlated_features_pearson",
    "correlated_features_l1",
    "decoder_weights_dist",
    "topkCosSimIndices",
    "topkCosSimValues",
    "explanations",
)


def _round(values: list[float], digits: int = 4) -> list[float]:
    return [round(float(v), digits) for v in values]


def _half_histogram(hist: SignedHistogram, sign: str) -> tuple[list[float], list[int]]:
    """Bin centres (as magnitudes, ascending) and counts of one sign's half."""
    pairs = [
        (c, n)
        for c, n in zip(hist.centers, hist.counts, strict=True)
        if (c > 0) == (sign == "pos")
    ]
    pairs = sorted((abs(c), n) for c, n in pairs)
    return _round([c for c, _ in pairs]), [n for _, n in pairs]


def _activation(ctx: Context, scale: float, clip: bool) -> dict[str, Any]:
    values = [v * scale for v in ctx.values]
    if clip:
        values = [max(v, 0.0) for v in values]
    values = _round(values)
    top = max(range(len(values)), key=lambda j: values[j])
    return {
        "tokens": ctx.tokens,
        "values": values,
        "maxValue": values[top],
        "maxValueTokenIndex": top,
        "minValue": min(values),
        "qualifyingTokenIndex": ctx.offset,
        "dataIndex": ctx.window,
        "dataSource": f"window {ctx.window}, token {ctx.position}",
    }


def _logits(report: LatentReport, sign: str) -> dict[str, Any]:
    tables = report.logits[sign]
    return {
        "pos_str": tables["promoted"].tokens,
        "pos_values": _round(tables["promoted"].values),
        "neg_str": tables["suppressed"].tokens,
        "neg_values": _round(tables["suppressed"].values),
    }


def feature_records(
    report: LatentReport,
    census_row: dict[str, Any],
    model_id: str,
    sae_id: str,
    hook_name: str,
) -> dict[str, Any]:
    """``{"latent": i, "features": [positive, negative], "signed": record}``."""
    i = report.latent
    base: dict[str, Any] = {
        "modelId": model_id,
        "layer": sae_id,
        "hookName": hook_name,
        "latent": i,
        **{name: [] for name in EMPTY_FIELDS},
    }
    logit_centres = report.logit_histogram.centers
    features = []
    for k, (sign, polarity) in enumerate((("pos", "positive"), ("neg", "negative"))):
        scale = 1.0 if sign == "pos" else -1.0
        centres, heights = _half_histogram(report.histogram, sign)
        features.append(
            {
                **base,
                "index": str(2 * i + k),
                "polarity": polarity,
                "maxActApprox": round(census_row[f"max_{sign}"], 4),
                "frac_nonzero": census_row[f"rate_{sign}"],
                **_logits(report, sign),
                "freq_hist_data_bar_values": centres,
                "freq_hist_data_bar_heights": heights,
                "logits_hist_data_bar_values": _round(
                    sorted(c * scale for c in logit_centres)
                ),
                "logits_hist_data_bar_heights": report.logit_histogram.counts[
                    :: int(scale)
                ],
                "activations": [
                    _activation(c, scale, True) for c in report.contexts[sign]
                ],
            }
        )
    signed = {
        **base,
        "index": str(i),
        "polarity": "signed",
        "maxActApprox": round(max(census_row["max_pos"], census_row["max_neg"]), 4),
        "frac_nonzero": census_row["frac_nonzero"],
        **_logits(report, "pos"),
        "freq_hist_data_bar_values": _round(report.histogram.centers),
        "freq_hist_data_bar_heights": report.histogram.counts,
        "logits_hist_data_bar_values": _round(logit_centres),
        "logits_hist_data_bar_heights": report.logit_histogram.counts,
        "activations": [
            _activation(c, 1.0, False)
            for sign in ("pos", "neg")
            for c in report.contexts[sign]
        ],
    }
    return {"latent": i, "features": features, "signed": signed}
