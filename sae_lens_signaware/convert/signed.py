"""Turn an existing SAE into a per-sign SA-GSAE: antipodal pairs become one signed latent.

A SAELens SAE in JumpReLU form (``jumprelu``; BatchTopK, which SAELens saves as
JumpReLU; this package's ``to_jumprelu`` export) or a Gated SAE is a set of
one-sided *sides*: latent ``j`` reads ``h_j = x~ . w_j + b_j`` and adds
``relu(h_j) [h_j > t_j] d_j`` (JumpReLU) or ``[x~ . w_j + b_gate_j > 0]
relu(x~ . (e^{r_j} w_j) + b_mag_j) d_j`` (Gated). Each is exactly one side of a
per-sign SA-GSAE latent (``sign_encoders="per_sign"``): gate ``pi = x~ . w_j +
b_j``, threshold ``max(t_j, 0)`` (clamping changes nothing: ``relu`` already
zeroes ``h <= 0``), magnitude ``m = e^{r} pi + ...``.

``to_signed`` pairs latents whose decoder rows point opposite ways, greedily,
most opposite first, while ``cos(d_j, d_k) <= -cut``. A pair becomes one signed
latent: ``j`` (the lower index) its positive side, ``k`` its negative side, the
decoder row the unit direction ``u = (n_j - n_k) / ||n_j - n_k||`` (``n``: the
unit rows), and each side's magnitude scaled by its row's length along ``u``
(``a_j = d_j . u``, ``a_k = -d_k . u``), so that ``a_j u`` and ``-a_k u`` stand for
``d_j`` and ``d_k``. The merge is exact when the rows are exactly antipodal
(``d_k = -c d_j``, ``c > 0``), as in a ``to_jumprelu`` export, and otherwise
replaces each row by its projection on ``u``. Given activations (``acts``),
``u`` is instead the direction that loses the least reconstruction energy:
the top eigenvector of ``E_j n_j n_j^T + E_k n_k n_k^T`` (``E``: each latent's
summed ``||f d||^2`` on ``acts``), which leans towards the latent that carries
more. An unpaired latent keeps its row
and becomes a signed latent with the negative side closed (no encoder column,
``b_gate_neg = -1`` below ``threshold_neg = 0``: it never opens). Nothing else
changes (``b_dec``, ``apply_b_dec_to_input``, the activation normalisation), so
``to_signed(to_jumprelu(sa))`` computes what ``sa`` computes, for both encoder
kinds, up to float rounding.
"""

import math
from dataclasses import dataclass
from typing import Any

import torch
from sae_lens import SAE, GatedSAE, JumpReLUSAE

from sae_lens_signaware.convert.building import check_finite_parameters, converted_sae
from sae_lens_signaware.saes import SignAwareGatedSAE, SignAwareGatedSAEConfig

#: the default cosine cut: pairs with ``cos(d_j, d_k) <= -DEFAULT_CUT`` merge.
#: Measured on JumpReLU and BatchTopK SAEs at 2H (``benchmarks/to_signed.py``,
#: TinyStories-656K MLP output, L0 8-10): the largest merge of the grid
#: (1, 0.95, 0.9, 0.8, 0.7, 0.5) whose explained variance drops by at most
#: 0.005 on both with ``acts`` (0.9: -0.0013 and -0.0015; 0.8 loses 0.0053 on
#: BatchTopK). Without ``acts`` it costs -0.0057 (JumpReLU) and -0.0037.
DEFAULT_CUT = 0.9
#: rows of the cosine matrix computed at a time
BLOCK = 4096


@dataclass(frozen=True)
class Sides:
    """The one-sided latents of an SAE: ``pi = x~ @ W_enc + b_gate`` opens above
    ``threshold``, the magnitude is ``x~ @ (W_enc e^{r_mag}) + b_mag``."""

    W_enc: torch.Tensor
    b_gate: torch.Tensor
    r_mag: torch.Tensor
    b_mag: torch.Tensor
    threshold: torch.Tensor
    W_dec: torch.Tensor


@dataclass(frozen=True)
class SignedConversion:
    """``to_signed``'s result: the SAE, and which source latents each of its
    latents holds (``pairs[i] = (positive, negative)``, ``negative = -1`` when
    the negative side is closed) with the pair's decoder cosine (0 when unpaired)."""

    sae: SignAwareGatedSAE
    pairs: torch.Tensor
    cosines: torch.Tensor

    @property
    def n_merged(self) -> int:
        return int((self.pairs[:, 1] >= 0).sum())


def sides_of(sae: SAE[Any]) -> Sides:
    """The one-sided latents of a JumpReLU or Gated SAE, in float64."""
    get = lambda name: getattr(sae, name).detach().double()  # noqa: E731
    if isinstance(sae, JumpReLUSAE):
        b_enc = get("b_enc")
        return Sides(
            W_enc=get("W_enc"),
            b_gate=b_enc,
            r_mag=torch.zeros_like(b_enc),
            b_mag=b_enc.clone(),
            threshold=get("threshold").clamp(min=0.0),
            W_dec=get("W_dec"),
        )
    if isinstance(sae, GatedSAE):
        b_gate = get("b_gate")
        return Sides(
            W_enc=get("W_enc"),
            b_gate=b_gate,
            r_mag=get("r_mag"),
            b_mag=get("b_mag"),
            threshold=torch.zeros_like(b_gate),
            W_dec=get("W_dec"),
        )
    raise TypeError(
        f"to_signed takes an SAE in JumpReLU form (jumprelu, BatchTopK as SAELens "
        f"saves it, a to_jumprelu export) or a Gated SAE, got {type(sae).__name__} "
        f"({sae.cfg.architecture()!r}); save a training SAE for inference first"
    )


def antipodal_pairs(
    W_dec: torch.Tensor, cut: float
) -> tuple[list[tuple[int, int]], list[float]]:
    """Greedy pairs of rows with ``cos <= -cut``, most opposite first, each row in
    at most one pair; ``(j, k)`` with ``j < k``."""
    unit = torch.nn.functional.normalize(W_dec.detach().double(), dim=-1)
    found_i, found_j, found_c = [], [], []
    for start in range(0, unit.shape[0], BLOCK):
        cos = unit[start : start + BLOCK] @ unit.T
        rows, cols = torch.nonzero(cos <= -cut, as_tuple=True)
        rows = rows + start
        keep = rows < cols
        found_i.append(rows[keep])
        found_j.append(cols[keep])
        found_c.append(cos[rows[keep] - start, cols[keep]])
    rows_t, cols_t, cos_t = (torch.cat(v) for v in (found_i, found_j, found_c))
    order = torch.argsort(cos_t, stable=True)
    used: set[int] = set()
    pairs: list[tuple[int, int]] = []
    cosines: list[float] = []
    for i in order.tolist():
        j, k = int(rows_t[i]), int(cols_t[i])
        if j in used or k in used:
            continue
        used.update((j, k))
        pairs.append((j, k))
        cosines.append(float(cos_t[i]))
    return pairs, cosines


def merged_direction(
    n_j: torch.Tensor, n_k: torch.Tensor, e_j: float = 1.0, e_k: float = 1.0
) -> torch.Tensor:
    """The unit row ``u`` a merged pair shares: the top eigenvector of
    ``e_j n_j n_j^T + e_k n_k n_k^T`` in the plane of ``n_j`` and ``-n_k``,
    oriented along ``n_j`` (with equal weights, ``normalize(n_j - n_k)``)."""
    v2 = -n_k
    c = float(v2 @ n_j)
    rest = v2 - c * n_j
    s = float(rest.norm())
    if s < 1e-12:  # exactly antipodal
        return n_j.clone()
    e2 = rest / s
    m = torch.tensor(
        [[e_j + e_k * c * c, e_k * c * s], [e_k * c * s, e_k * s * s]],
        dtype=torch.float64,
    )
    _, vectors = torch.linalg.eigh(m)
    a, b = (float(v) for v in vectors[:, -1])
    u = a * n_j + b * e2.to(n_j)
    return u / u.norm() * (1.0 if float(u @ n_j) >= 0 else -1.0)


def side_energies(sae: SAE[Any], acts: torch.Tensor) -> torch.Tensor:
    """Each latent's summed ``||f_j d_j||^2`` over ``acts`` (float64)."""
    total = torch.zeros(sae.cfg.d_sae, dtype=torch.float64)
    norms = sae.W_dec.detach().double().pow(2).sum(-1).cpu()
    with torch.no_grad():
        for batch in acts.split(8192):
            f = sae.encode(batch.to(sae.device)).double().cpu()
            total += f.pow(2).sum(0) * norms
    return total


def to_signed(
    sae: SAE[Any], cut: float = DEFAULT_CUT, acts: torch.Tensor | None = None
) -> SignedConversion:
    """A per-sign SA-GSAE from ``sae`` (JumpReLU form or Gated): antipodal decoder
    pairs with ``cos <= -cut`` merged into signed latents, the rest kept with
    their negative side closed; ``acts`` (hook activations) weigh each pair's
    shared direction by what each latent carries (see the module docstring)."""
    if not (math.isfinite(cut) and 0 < cut <= 1):
        raise ValueError(f"cut must be in (0, 1], got {cut!r}")
    check_finite_parameters(sae)
    src = sides_of(sae)
    pairs, cosines = antipodal_pairs(src.W_dec, cut)
    energy = None if acts is None else side_energies(sae, acts)
    partner = dict(pairs)
    merged_away = {k for _, k in pairs}
    cos_of = dict(zip((j for j, _ in pairs), cosines, strict=True))
    kept = [j for j in range(src.W_dec.shape[0]) if j not in merged_away]
    d_sae, d_in = len(kept), src.W_enc.shape[0]
    f64 = torch.float64
    out = {
        "W_enc": src.W_enc[:, kept].clone(),
        "b_gate": src.b_gate[kept].clone(),
        "r_mag": src.r_mag[kept].clone(),
        "b_mag": src.b_mag[kept].clone(),
        "threshold_pos": src.threshold[kept].clone(),
        "W_dec": src.W_dec[kept].clone(),
        "W_enc_neg": torch.zeros(d_in, d_sae, dtype=f64),
        "b_gate_neg": torch.full((d_sae,), -1.0, dtype=f64),
        "r_mag_neg": torch.zeros(d_sae, dtype=f64),
        "b_mag_neg": torch.zeros(d_sae, dtype=f64),
        "threshold_neg": torch.zeros(d_sae, dtype=f64),
    }
    pair_rows = torch.full((d_sae, 2), -1, dtype=torch.long)
    pair_cos = torch.zeros(d_sae, dtype=f64)
    for i, j in enumerate(kept):
        pair_rows[i, 0] = j
        k = partner.get(j)
        if k is None:
            continue
        pair_rows[i, 1], pair_cos[i] = k, cos_of[j]
        n_j = torch.nn.functional.normalize(src.W_dec[j], dim=0)
        n_k = torch.nn.functional.normalize(src.W_dec[k], dim=0)
        if energy is None:
            u = torch.nn.functional.normalize(n_j - n_k, dim=0)
        else:
            u = merged_direction(n_j, n_k, float(energy[j]), float(energy[k]))
        a_j, a_k = float(src.W_dec[j] @ u), float(-(src.W_dec[k] @ u))
        out["W_dec"][i] = u
        out["r_mag"][i] += math.log(a_j)
        out["b_mag"][i] *= a_j
        out["W_enc_neg"][:, i] = src.W_enc[:, k]
        out["b_gate_neg"][i] = src.b_gate[k]
        out["r_mag_neg"][i] = src.r_mag[k] + math.log(a_k)
        out["b_mag_neg"][i] = src.b_mag[k] * a_k
        out["threshold_neg"][i] = src.threshold[k]
    dtype = sae.W_dec.dtype
    state = {name: value.to(dtype).contiguous() for name, value in out.items()}
    state["b_dec"] = sae.b_dec.detach().clone()
    signed = converted_sae(
        sae,
        SignAwareGatedSAEConfig,
        SignAwareGatedSAE,
        {
            "architecture": "sign_aware_gated",
            "d_sae": d_sae,
            "two_sided": True,
            "sign_encoders": "per_sign",
        },
        {
            "source_architecture": sae.cfg.architecture(),
            "source_d_sae": sae.cfg.d_sae,
            "signed_pairs_merged": len(pairs),
            "signed_cut": cut,
            "neuronpedia_id": None,  # the source's refers to other latent indices
        },
        state,
    )
    return SignedConversion(signed, pair_rows, pair_cos.float())
