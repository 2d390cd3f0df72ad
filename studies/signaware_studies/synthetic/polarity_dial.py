"""Protocol A, the polarity dial: shrinkage and reconstruction as the sign asymmetry moves.

Data (``signed_axes.py``): ``n_axes`` orthogonal-ish signed axes in ``d`` dims;
each fires with rate ``firing_rate`` and, when it fires, is positive with
probability ``P(+)``; the two signs co-fire according to the within-pair
copula correlation ``rho`` (0 independent, -1 mutually exclusive). The dial
runs ``P(+)`` over ``p_plus_values`` at ``rho = base_rho`` and ``rho`` over
``rho_values`` at ``P(+) = base_p_plus``; every architecture trains at target
L0 ``l0``. At the base setting it also trains at each of ``l0_sweep`` for an
MSE-vs-L0 curve.

Calibration: each signed direction ``s v_k`` is matched to one latent by decoder
cosine (signed architectures: largest ``|cos|``, so one latent may serve both
signs; one-sided architectures: largest ``s cos``). On the test tokens where
``c_k`` has sign ``s``, the latent's read-out ``f_j (d_j . v_k)`` is regressed
on ``c_k`` through the origin; the slope is 1 without shrinkage, 0 when the
latent does not fire there. Reported per architecture: the median slope over
common-sign sides (``+``) and rare-sign sides (``-``) with at least
``min_side_tokens`` tokens, and the mean matched ``|cos|``.
"""

import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from sae_lens_signaware.training import TrainSettings
from signaware_studies.baselines import ARCHS
from signaware_studies.synthetic.common import (
    Timer,
    plot_curve,
    restores_threads,
    subplots,
    write_outputs,
)
from signaware_studies.synthetic.harness import (
    SYNTHETIC_ARCHS,
    decoder_cos,
    encode,
    mse_and_l0,
    train_architecture,
)
from signaware_studies.synthetic.signed_axes import SignedAxes, SignedAxesConfig

MIN_SIDE_TOKENS = 20

LOG = logging.getLogger(__name__)


@torch.no_grad()
def calibration(
    f: torch.Tensor,
    w_dec: torch.Tensor,
    cos: torch.Tensor,
    directions: torch.Tensor,
    c: torch.Tensor,
    signed: bool,
) -> dict[str, Any]:
    """Median slope per side (``+``/``-``) and mean matched ``|cos|``."""
    projections = w_dec @ directions.T  # d_sae x n_axes: d_j . v_k
    slopes: dict[str, list[float]] = {"+": [], "-": []}
    matched_cos: list[float] = []
    for k in range(c.shape[1]):
        for side, s in (("+", 1.0), ("-", -1.0)):
            tokens = (c[:, k] * s) > 0
            if int(tokens.sum()) < MIN_SIDE_TOKENS:
                continue
            j = int((cos[:, k].abs() if signed else s * cos[:, k]).argmax())
            matched_cos.append(float(cos[j, k].abs()))
            readout = f[tokens, j] * projections[j, k]
            target = c[tokens, k]
            slopes[side].append(float((readout * target).sum() / target.pow(2).sum()))

    def median(values: list[float]) -> float | None:
        return float(torch.tensor(values).median()) if values else None

    return {
        "slope_plus": median(slopes["+"]),
        "slope_minus": median(slopes["-"]),
        "matched_abs_cos": sum(matched_cos) / max(len(matched_cos), 1),
    }


def evaluate(
    name: str, data: SignedAxes, h: int, l0: float, settings: TrainSettings, n: int
) -> dict[str, Any]:
    x_train, _ = data.sample(n, seed=settings.seed + 1)
    x_test, c_test = data.sample(max(n // 8, 4096), seed=settings.seed + 2)
    timer = Timer()
    sae = train_architecture(name, x_train, h, l0, settings)
    f = encode(sae, x_test)
    arch = ARCHS[name]
    return {
        "architecture": name,
        "d_sae": sae.cfg.d_sae,
        "target_l0": l0,
        **mse_and_l0(sae, x_test, f),
        **calibration(
            f,
            sae.W_dec.detach(),
            decoder_cos(sae, data.directions),
            data.directions,
            c_test,
            arch.signed,
        ),
        "train_seconds": timer.seconds(),
    }


@restores_threads
def run_polarity_dial(
    out_dir: Path | None = None,
    architectures: list[str] | None = None,
    p_plus_values: tuple[float, ...] = (0.5, 0.75, 0.9, 1.0),
    rho_values: tuple[float, ...] = (0.0, -0.5, -1.0),
    base_p_plus: float = 0.5,
    base_rho: float = -1.0,
    l0: float = 4.0,
    l0_sweep: tuple[float, ...] = (2.0, 8.0),
    n_axes: int = 32,
    d: int = 32,
    firing_rate: float = 0.125,
    n_steps: int = 1000,
    batch_size: int = 1024,
    n_train: int = 65_536,
    seed: int = 0,
    small: bool = False,
    threads: int = 1,
) -> dict[str, Any]:
    torch.set_num_threads(threads)  # tiny models: one thread is much faster
    if small:
        p_plus_values, rho_values, l0_sweep = (0.5, 1.0), (0.0, -1.0), ()
        n_axes, d, firing_rate, l0 = 8, 8, 0.25, 2.0
        n_steps, n_train = 300, 16_384
    names = architectures or SYNTHETIC_ARCHS
    h = n_axes
    settings = TrainSettings(n_steps=n_steps, batch_size=batch_size, lr=1e-3, seed=seed)
    timer = Timer()
    base = SignedAxesConfig(n_axes=n_axes, d=d, firing_rate=firing_rate, seed=seed)
    directions = SignedAxes(base).directions
    dial = [(p, base_rho) for p in p_plus_values] + [
        (base_p_plus, r) for r in rho_values if r != base_rho
    ]
    rows = []
    for p_plus, rho in dial:
        cfg = replace(base, p_plus=p_plus, rho=rho)
        data = SignedAxes(cfg, directions)
        lift = data.co_firing_lift()
        targets = [l0]
        if (p_plus, rho) == (base_p_plus, base_rho):
            targets += list(l0_sweep)
        for target in targets:
            for name in names:
                row = evaluate(name, data, h, target, settings, n_train)
                rows.append(
                    {"p_plus": p_plus, "rho": rho, "co_firing_lift": lift, **row}
                )
                LOG.info("%s", rows[-1])
    result = {
        "protocol": "polarity_dial",
        "definitions": {
            "p_plus": "P(c_k > 0 | axis k fires)",
            "rho": "within-pair Gaussian-copula correlation of the + and - sides' firing (SAELens ActivationGenerator); -1 = mutually exclusive",
            "co_firing_lift": "measured P(both sides fire) / (P(+) P(-))",
            "slope_plus/slope_minus": "median over axes of the matched latent's read-out f_j (d_j . v_k) regressed on c_k through the origin, on tokens with c_k > 0 / < 0 (1 = no shrinkage)",
            "mse": "mean over test tokens of ||x - x_hat||^2",
        },
        "settings": {
            "n_axes": n_axes,
            "d": d,
            "H": h,
            "firing_rate": firing_rate,
            "l0": l0,
            "l0_sweep": list(l0_sweep),
            "base_p_plus": base_p_plus,
            "base_rho": base_rho,
            "n_steps": n_steps,
            "batch_size": batch_size,
            "n_train": n_train,
            "seed": seed,
            "widths": {n: ARCHS[n].width * h for n in names},
        },
        "rows": rows,
        "wall_seconds": timer.seconds(),
    }
    return write_outputs(
        result, _plot(rows, names, base_p_plus, base_rho), out_dir, "polarity_dial"
    )


def _dial(
    rows: list[dict[str, Any]], name: str, fixed: str, value: float, swept: str
) -> list[dict[str, Any]]:
    """``name``'s rows at the first target L0 with ``fixed == value``, by ``swept``."""
    return sorted(
        (
            r
            for r in rows
            if r["architecture"] == name
            and r[fixed] == value
            and r["target_l0"] == rows[0]["target_l0"]
        ),
        key=lambda r: r[swept],
    )


def _plot(
    rows: list[dict[str, Any]], names: list[str], base_p: float, base_rho: float
) -> Any:
    fig, axes = subplots(4)
    base = [r for r in rows if (r["p_plus"], r["rho"]) == (base_p, base_rho)]
    for name in names:
        mine = [r for r in base if r["architecture"] == name]
        mine.sort(key=lambda r: r["l0"])
        plot_curve(axes[0], mine, "l0", "mse", name)
        dial_p = _dial(rows, name, "rho", base_rho, "p_plus")
        plot_curve(axes[1], dial_p, "p_plus", "slope_plus", name)
        plot_curve(axes[2], dial_p, "p_plus", "slope_minus", name)
        dial_rho = _dial(rows, name, "p_plus", base_p, "rho")
        plot_curve(axes[3], dial_rho, "rho", "mse", name)
    axes[0].set(
        xlabel="L0",
        ylabel="MSE",
        title=f"MSE vs L0 (P(+)={base_p}, rho={base_rho})",
        xscale="log",
        yscale="log",
    )
    axes[1].set(xlabel="P(+)", ylabel="slope", title="calibration slope, + side")
    axes[2].set(xlabel="P(+)", ylabel="slope", title="calibration slope, - (rare) side")
    axes[3].set(
        xlabel="rho (within-pair)",
        ylabel="MSE",
        title=f"MSE vs rho (P(+)={base_p})",
        yscale="log",
    )
    l0s = sorted({r["target_l0"] for r in base})
    axes[0].set_xticks(l0s, [f"{t:g}" for t in l0s])
    axes[0].minorticks_off()
    axes[0].legend(fontsize=7)
    return fig
