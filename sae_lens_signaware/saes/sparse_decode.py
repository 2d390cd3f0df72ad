"""Products with a row-sparse ``[B, H]`` matrix given by its nonzero positions.

The fused training step (``saes/fused.py``) knows, after its forward pass, the
positions ``P`` (row-major, as ``nonzero()`` returns them) where any gradient
to the latents can be nonzero. With values ``v`` on ``P`` and ``A = csr(P, v)``:

    decode      A @ W_dec            (B x H) (H x d)   CSR x dense
    grad_in     (G @ W^T)[P]          sampled dense-dense product (SDDMM)
    grad_W      A^T @ G              transposed CSR x dense

Each costs ``O(|P| d)`` instead of ``O(B H d)``. The kernels are
``torch.sparse.mm`` and ``torch.sparse.sampled_addmm`` (MKL on CPU, cuSPARSE on
CUDA), in float32 (float64 for float64 operands) whatever the dense dtype.
"""

import warnings
from typing import NamedTuple

import torch


def _csr(
    crow: torch.Tensor,
    col: torch.Tensor,
    values: torch.Tensor,
    size: tuple[int, int],
) -> torch.Tensor:
    """``torch.sparse_csr_tensor`` without its "beta" warning on every step."""
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message="Sparse CSR tensor support is in beta"
        )
        return torch.sparse_csr_tensor(crow, col, values, size, check_invariants=False)


def _dtype(t: torch.Tensor) -> torch.dtype:
    return torch.promote_types(t.dtype, torch.float32)


class Pattern(NamedTuple):
    """Nonzero positions of a ``[n_rows, n_cols]`` matrix, row-major; all tensors
    (so that an autograd function can save it with ``save_for_backward``)."""

    flat: torch.Tensor
    rows: torch.Tensor
    cols: torch.Tensor
    crow: torch.Tensor
    by_col: torch.Tensor
    ccol: torch.Tensor

    @classmethod
    def from_flat(cls, flat: torch.Tensor, n_rows: int, n_cols: int) -> "Pattern":
        """From sorted flat indices ``row * n_cols + col``."""
        rows = torch.div(flat, n_cols, rounding_mode="floor")
        cols = flat - rows * n_cols
        return cls(
            flat=flat,
            rows=rows,
            cols=cols,
            crow=_pointers(rows, n_rows),
            by_col=torch.argsort(cols, stable=True),
            ccol=_pointers(cols, n_cols),
        )

    @property
    def n_rows(self) -> int:
        return self.crow.shape[0] - 1

    @property
    def n_cols(self) -> int:
        return self.ccol.shape[0] - 1

    def csr(self, values: torch.Tensor) -> torch.Tensor:
        return _csr(
            self.crow, self.cols, values.to(_dtype(values)), (self.n_rows, self.n_cols)
        )

    def csr_t(self, values: torch.Tensor) -> torch.Tensor:
        """The transpose ``[n_cols, n_rows]``, as CSR."""
        return _csr(
            self.ccol,
            self.rows[self.by_col],
            values[self.by_col].to(_dtype(values)),
            (self.n_cols, self.n_rows),
        )


def _pointers(sorted_index: torch.Tensor, n: int) -> torch.Tensor:
    counts = torch.bincount(sorted_index, minlength=n)
    return torch.cat([counts.new_zeros(1), counts.cumsum(0)])


def spmm(pattern: Pattern, values: torch.Tensor, dense: torch.Tensor) -> torch.Tensor:
    """``A @ dense`` for ``A = csr(pattern, values)``: ``[n_rows, d]``, float32."""
    return torch.sparse.mm(pattern.csr(values), dense.to(_dtype(values)))


def spmm_t(pattern: Pattern, values: torch.Tensor, dense: torch.Tensor) -> torch.Tensor:
    """``A^T @ dense``: ``[n_cols, d]``, float32; rows of ``A^T`` that are empty stay 0."""
    return torch.sparse.mm(pattern.csr_t(values), dense.to(_dtype(values)))


def sddmm(pattern: Pattern, left: torch.Tensor, right: torch.Tensor) -> torch.Tensor:
    """``(left @ right^T)[P]`` for ``left [n_rows, d]``, ``right [n_cols, d]``: ``[|P|]``."""
    dtype = torch.promote_types(_dtype(left), right.dtype)
    template = pattern.csr(left.new_zeros(pattern.rows.shape[0], dtype=dtype))
    product = torch.sparse.sampled_addmm(
        template, left.to(dtype), right.to(dtype).t(), beta=0.0
    )
    return product.values()
