"""Protocol C, antipodal pairs in superposition.

``K`` signed axes (pairs ``+v_k``, ``-v_k``) in ``d`` dims with ``2K > d``, the
two signs of a pair mutually exclusive (within-pair copula correlation
``rho = -1``) and symmetric (``P(+) = 0.5``); each pair fires with rate
``expected_l0 / K`` so the true L0 stays ``expected_l0``. Signed architectures
train at width ``H = K`` and target L0 ``expected_l0``.

A pair is **consolidated** when one latent ``j`` has ``|cos(d_j, v_k)| >= 0.9``
and fires with both signs on the pair's tokens: on at least
``min_firing_share`` of the test tokens with ``c_k > 0`` it fires with the sign
that outputs ``+v_k``, and likewise on the tokens with ``c_k < 0``. Reported
against ``2K/d`` (at ``rho = -1``) and against ``rho`` (at ``2K/d = base_ratio``).
One-sided architectures cannot consolidate (their latents never go negative),
so only the signed ones (SA-GSAE, its tied/aux ablations, AbsTopK) are trained.
"""

import logging
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
    SYNTHETIC_SIGNED,
    decoder_cos,
    encode,
    mse_and_l0,
    train_architecture,
)
from signaware_studies.synthetic.signed_axes import SignedAxes, SignedAxesConfig

LOG = logging.getLogger(__name__)


@torch.no_grad()
def consolidation(
    f: torch.Tensor,
    cos: torch.Tensor,
    c: torch.Tensor,
    min_cos: float = 0.9,
    min_firing_share: float = 0.5,
) -> dict[str, float]:
    """Share of pairs consolidated by one latent, and share with both signs covered
    by any latents (consolidated or split)."""
    consolidated = covered = 0
    n_pairs = c.shape[1]
    for k in range(n_pairs):
        pos, neg = c[:, k] > 0, c[:, k] < 0
        if not pos.any() or not neg.any():
            continue
        sign = torch.sign(cos[:, k])  # latent's sign that outputs +v_k
        out_pos = ((f[pos] * sign) > 0).float().mean(0)  # share outputting +v_k
        out_neg = ((f[neg] * sign) < 0).float().mean(0)  # share outputting -v_k
        aligned = cos[:, k].abs() >= min_cos
        ok_pos = aligned & (out_pos >= min_firing_share)
        ok_neg = aligned & (out_neg >= min_firing_share)
        consolidated += int((ok_pos & ok_neg).any())
        covered += int(ok_pos.any() and ok_neg.any())
    return {
        "consolidation_rate": consolidated / n_pairs,
        "pair_coverage": covered / n_pairs,
    }


@restores_threads
def run_antipodal(
    out_dir: Path | None = None,
    architectures: list[str] | None = None,
    d: int = 16,
    ratios: tuple[float, ...] = (1.5, 2.0, 3.0, 4.0),
    rho_values: tuple[float, ...] = (0.0, -0.5, -1.0),
    base_ratio: float = 2.0,
    expected_l0: float = 2.0,
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
        d, ratios, rho_values, base_ratio = 8, (2.0,), (-1.0,), 2.0
        n_steps, n_train, n_eval = 600, 32_768, 4096
    names = architectures or SYNTHETIC_SIGNED
    timer = Timer()
    settings = TrainSettings(n_steps=n_steps, batch_size=batch_size, lr=1e-3, seed=seed)
    grid = [(r, -1.0) for r in ratios] + [
        (base_ratio, r) for r in rho_values if r != -1.0
    ]
    rows = []
    for ratio, rho in grid:
        n_pairs = round(ratio * d / 2)
        cfg = SignedAxesConfig(
            n_axes=n_pairs,
            d=d,
            firing_rate=min(expected_l0 / n_pairs, 1.0),
            p_plus=0.5,
            rho=rho,
            seed=seed,
        )
        data = SignedAxes(cfg)
        lift = data.co_firing_lift()
        x_train, _ = data.sample(n_train, seed=seed + 1)
        x_test, c_test = data.sample(n_eval, seed=seed + 2)
        for name in names:
            t = Timer()
            sae = train_architecture(name, x_train, n_pairs, expected_l0, settings)
            f = encode(sae, x_test)
            row = {
                "ratio_2k_over_d": 2 * n_pairs / d,
                "n_pairs": n_pairs,
                "rho": rho,
                "co_firing_lift": lift,
                "architecture": name,
                "d_sae": sae.cfg.d_sae,
                **mse_and_l0(sae, x_test, f),
                **consolidation(f, decoder_cos(sae, data.directions), c_test),
                "train_seconds": t.seconds(),
            }
            rows.append(row)
            LOG.info("%s", row)
    result = {
        "protocol": "antipodal",
        "definitions": {
            "consolidation_rate": "share of pairs with one latent, |cos(d_j, v_k)| >= 0.9, firing with the sign giving +v_k on >= 50% of the c_k > 0 tokens and with the sign giving -v_k on >= 50% of the c_k < 0 tokens",
            "pair_coverage": "share of pairs with both signs produced by aligned latents (one or two)",
            "rho": "within-pair Gaussian-copula correlation (-1 = mutually exclusive)",
        },
        "settings": {
            "d": d,
            "ratios": list(ratios),
            "rho_values": list(rho_values),
            "base_ratio": base_ratio,
            "expected_l0": expected_l0,
            "H": "n_pairs",
            "n_steps": n_steps,
            "batch_size": batch_size,
            "n_train": n_train,
            "n_eval": n_eval,
            "seed": seed,
            "architectures": {n: f"{ARCHS[n].width}H" for n in names},
        },
        "rows": rows,
        "wall_seconds": timer.seconds(),
    }
    fig, axes = subplots(2)
    for name in names:
        by_ratio = sorted(
            (r for r in rows if r["architecture"] == name and r["rho"] == -1.0),
            key=lambda r: r["ratio_2k_over_d"],
        )
        plot_curve(axes[0], by_ratio, "ratio_2k_over_d", "consolidation_rate", name)
        by_rho = sorted(
            (
                r
                for r in rows
                if r["architecture"] == name
                and r["n_pairs"] == round(base_ratio * d / 2)
            ),
            key=lambda r: r["rho"],
        )
        plot_curve(axes[1], by_rho, "rho", "consolidation_rate", name)
    axes[0].set(
        xlabel="2K / d",
        ylabel="consolidation rate",
        title="pairs held by one signed latent (rho=-1)",
        ylim=(-0.05, 1.05),
    )
    axes[1].set(
        xlabel="rho (within-pair)",
        ylabel="consolidation rate",
        title=f"vs within-pair correlation (2K/d={base_ratio})",
        ylim=(-0.05, 1.05),
    )
    axes[0].legend(fontsize=7)
    return write_outputs(result, fig, out_dir, "antipodal")
