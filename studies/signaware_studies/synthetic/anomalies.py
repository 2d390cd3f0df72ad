"""Protocol B, anomalies under a latent budget.

Training data: ``n_axes`` signed axes; ``n_skewed`` of them fire positive with
probability ``p_plus_train`` (mostly one sign), the rest symmetric. Shifted
data: the skewed axes' asymmetry flips (``P(+) = 1 - p_plus_train``). A token
is **anomalous** when some skewed axis has its rare sign (``c_k < 0``) on it.

Detector with budget ``k``: a candidate is a (latent, sign) pair whose score on
a token is ``relu(sign * f_j) ||d_j||`` (for a one-sided latent only the ``+``
sign is ever non-zero); the score of a set is the sum. ``k`` candidates are
chosen greedily to maximise AUROC on a held-out calibration sample of the
shifted data (stopping early when no candidate improves it), then AUROC is
measured on a fresh test sample of it. For a
signed latent the chosen sign is its rare sign; a one-sided architecture needs
a latent dedicated to the rare direction ``-v_k``.
"""

import logging
from pathlib import Path
from typing import Any

import torch

from sae_lens_signaware.training import TrainSettings
from signaware_studies.baselines import ARCHS
from signaware_studies.synthetic.common import (
    Timer,
    restores_threads,
    subplots,
    write_outputs,
)
from signaware_studies.synthetic.harness import (
    SYNTHETIC_ARCHS,
    auroc,
    decoder_cos,
    encode,
    mse_and_l0,
    train_architecture,
)
from signaware_studies.synthetic.signed_axes import SignedAxes, SignedAxesConfig

LOG = logging.getLogger(__name__)


def candidate_scores(f: torch.Tensor, w_dec: torch.Tensor) -> torch.Tensor:
    """``n x 2 d_sae``: positive-side then negative-side activity, in output units."""
    norms = w_dec.norm(dim=1)
    return torch.cat([f.clamp(min=0) * norms, (-f).clamp(min=0) * norms], dim=1)


def greedy_select(scores: torch.Tensor, labels: torch.Tensor, k: int) -> list[int]:
    """At most ``k`` candidates, added one at a time while the summed score's
    calibration AUROC improves."""
    live = [i for i in range(scores.shape[1]) if bool((scores[:, i] > 0).any())]
    chosen: list[int] = []
    total = torch.zeros(scores.shape[0])
    current = 0.5
    for _ in range(min(k, len(live))):
        best, best_auc = -1, current
        for i in live:
            if i in chosen:
                continue
            auc = auroc(total + scores[:, i], labels)
            if auc > best_auc:
                best, best_auc = i, auc
        if best < 0:  # no candidate improves the calibration AUROC: stop early
            break
        chosen.append(best)
        total = total + scores[:, best]
        current = best_auc
    return chosen


@restores_threads
def run_anomalies(
    out_dir: Path | None = None,
    architectures: list[str] | None = None,
    budgets: tuple[int, ...] = (1, 2, 4, 8),
    n_axes: int = 32,
    n_skewed: int = 8,
    d: int = 32,
    firing_rate: float = 0.125,
    p_plus_train: float = 0.95,
    l0: float = 4.0,
    n_steps: int = 1000,
    batch_size: int = 1024,
    n_train: int = 65_536,
    n_eval: int = 8192,
    seed: int = 0,
    small: bool = False,
    threads: int = 1,
) -> dict[str, Any]:
    torch.set_num_threads(threads)
    if small:
        budgets, n_axes, n_skewed, d, firing_rate, l0 = (1, 2), 8, 2, 8, 0.25, 2.0
        n_steps, n_train, n_eval = 300, 16_384, 4096
    names = architectures or SYNTHETIC_ARCHS
    timer = Timer()
    skew = [p_plus_train] * n_skewed + [0.5] * (n_axes - n_skewed)
    flipped = [1 - p_plus_train] * n_skewed + [0.5] * (n_axes - n_skewed)
    cfg = SignedAxesConfig(
        n_axes=n_axes, d=d, firing_rate=firing_rate, p_plus=skew, rho=-1.0, seed=seed
    )
    train_data = SignedAxes(cfg)
    shifted = train_data.with_p_plus(flipped)
    x_train, _ = train_data.sample(n_train, seed=seed + 1)
    x_cal, c_cal = shifted.sample(n_eval, seed=seed + 2)
    x_test, c_test = shifted.sample(n_eval, seed=seed + 3)
    y_cal = (c_cal[:, :n_skewed] < 0).any(1)
    y_test = (c_test[:, :n_skewed] < 0).any(1)
    settings = TrainSettings(n_steps=n_steps, batch_size=batch_size, lr=1e-3, seed=seed)
    rows = []
    for name in names:
        t = Timer()
        sae = train_architecture(name, x_train, n_axes, l0, settings)
        w_dec = sae.W_dec.detach()
        f_cal, f_test = encode(sae, x_cal), encode(sae, x_test)
        s_cal, s_test = candidate_scores(f_cal, w_dec), candidate_scores(f_test, w_dec)
        cos = decoder_cos(sae, train_data.directions)
        d_sae = sae.cfg.d_sae
        # is the rare direction -v_k of each skewed axis represented (|cos| >= 0.9
        # with a latent that can output it)?
        rare_ok = []
        for k_axis in range(n_skewed):
            col = cos[:, k_axis]
            fires_neg = (f_test < 0).any(0)
            fires_pos = (f_test > 0).any(0)
            can = ((col <= -0.9) & fires_pos) | ((col >= 0.9) & fires_neg)
            rare_ok.append(bool(can.any()))
        row: dict[str, Any] = {
            "architecture": name,
            "d_sae": d_sae,
            **mse_and_l0(sae, x_test, f_test),
            "rare_direction_represented": sum(rare_ok) / n_skewed,
        }
        for k in budgets:
            chosen = greedy_select(s_cal, y_cal, k)
            row[f"auroc_k{k}"] = auroc(s_test[:, chosen].sum(1), y_test)
            row[f"chosen_k{k}"] = [
                {"latent": i % d_sae, "sign": "+" if i < d_sae else "-"} for i in chosen
            ]
        row["train_seconds"] = t.seconds()
        rows.append(row)
        LOG.info("%s", {k: v for k, v in row.items() if not k.startswith("chosen")})
    result = {
        "protocol": "anomalies",
        "definitions": {
            "anomalous token": "some skewed axis fires with its rare (training-time) sign, c_k < 0",
            "score": "sum over the k chosen (latent, sign) candidates of relu(sign f_j) ||d_j||; candidates chosen greedily for AUROC on a calibration sample of the shifted data, at most k (fewer when no candidate improves it)",
            "rare_direction_represented": "share of skewed axes whose rare direction -v_k has a latent with |cos| >= 0.9 that fires with the sign producing -v_k on the test data",
        },
        "settings": {
            "n_axes": n_axes,
            "n_skewed": n_skewed,
            "d": d,
            "H": n_axes,
            "firing_rate": firing_rate,
            "p_plus_train": p_plus_train,
            "l0": l0,
            "budgets": list(budgets),
            "n_steps": n_steps,
            "batch_size": batch_size,
            "n_train": n_train,
            "n_eval": n_eval,
            "anomalous_share_test": float(y_test.float().mean()),
            "seed": seed,
            "widths": {n: ARCHS[n].width * n_axes for n in names},
        },
        "rows": rows,
        "wall_seconds": timer.seconds(),
    }
    fig, axes = subplots(1, width=6.0)
    for row in rows:
        axes[0].plot(
            budgets,
            [row[f"auroc_k{k}"] for k in budgets],
            "o-",
            label=row["architecture"],
        )
    axes[0].set(
        xlabel="latent budget k",
        ylabel="test AUROC",
        title="anomalous rare-sign tokens",
        xscale="log",
        xticks=list(budgets),
        xticklabels=[str(b) for b in budgets],
    )
    axes[0].minorticks_off()
    axes[0].legend(fontsize=7)
    return write_outputs(result, fig, out_dir, "anomalies")
