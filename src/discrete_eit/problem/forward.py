"""Forward map γ ↦ Λ(γ): Kirchhoff matrix, harmonic extensions and the DtN matrix (MATH.md §2).

Sign convention: ``(Λ f)(b)`` is the current flowing from boundary node b *into* the network,
so Λ is symmetric positive semidefinite with zero row sums and a positive diagonal.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .lattice import Lattice

if TYPE_CHECKING:
    import scipy.sparse as sp

# scipy is imported where it is used, not here: short CLI commands (generate, evaluate, cm)
# that never reach that code start without paying for it (see benchmarks/startup.py).

MAX_N_VARIABLE = "DISCRETE_EIT_MAX_N"
"""Environment variable that sets the largest lattice size accepted (default :data:`DEFAULT_MAX_N`)."""
DEFAULT_MAX_N = 256
"""At n = 256 one forward solve holds ≈ 1.7 GB of dense arrays; beyond, the O(n⁵) memory grows fast."""


def forward_memory_bytes(n: int) -> int:
    """Approximate peak memory of one forward solve at lattice size n, in bytes.

    Three dense float64 (n², 4n) arrays live at once (``L_IB``, the interior potentials, ``U``),
    plus the banded factor of ``L_II`` ((n+1) × n²): ``8 (12 n³ + (n+1) n²)``.
    """
    return 8 * (3 * n * n * 4 * n + (n + 1) * n * n)


def max_lattice_size() -> int:
    """The largest n accepted: ``$DISCRETE_EIT_MAX_N`` if set, else :data:`DEFAULT_MAX_N`."""
    text = os.environ.get(MAX_N_VARIABLE, "")
    try:
        return int(text) if text else DEFAULT_MAX_N
    except ValueError:
        raise ValueError(f"{MAX_N_VARIABLE}={text!r} is not an integer") from None


def human_bytes(count: float) -> str:
    """``count`` bytes as ``1.77 GB`` (three significant digits; from 1000 TB on, in TB; beyond 1e18 TB
    as a power of ten: a count beyond the float range is no error)."""
    if count >= 10 ** 30:
        return f"10^{len(str(int(count))) - 13} TB"
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if count < 1000:
            return f"{count:.3g} {unit}"
        count /= 1000
    return f"{count:,.0f} TB"


def check_lattice_size(n: int) -> None:
    """``ValueError`` saying the memory it would take if n exceeds :func:`max_lattice_size`."""
    limit = max_lattice_size()
    if n > limit:
        size = human_bytes(forward_memory_bytes(n))
        raise ValueError(f"n = {n} is above the limit n <= {limit}: one forward solve would need about "
                         f"{size} of memory (raise the limit with the environment variable "
                         f"{MAX_N_VARIABLE})")


def check_gamma(lattice: Lattice, gamma: np.ndarray, name: str = "gamma") -> np.ndarray:
    """Return γ as a float64 vector after checking shape, finiteness and positivity."""
    gamma = np.asarray(gamma, dtype=np.float64)
    if gamma.shape != (lattice.n_edges,):
        raise ValueError(f"{name} must have shape ({lattice.n_edges},) = 2n(n+1) for n = {lattice.n}, "
                         f"got {gamma.shape}")
    if not np.all(np.isfinite(gamma)):
        raise ValueError(f"{name} contains non-finite values")
    if np.any(gamma <= 0):
        raise ValueError(f"{name} must be strictly positive (min {gamma.min():.3g})")
    return gamma


def kirchhoff_matrix(lattice: Lattice, gamma: np.ndarray) -> sp.csr_matrix:
    """Weighted graph Laplacian ``L(γ) = Σ_e γ_e (e_a − e_b)(e_a − e_b)ᵀ``.

    Returns a sparse (N×N) CSR matrix in global node order, N = 4n + n².
    """
    gamma = check_gamma(lattice, gamma)
    a, b = lattice.edges.T
    rows = np.concatenate([a, b, a, b])
    cols = np.concatenate([a, b, b, a])
    vals = np.concatenate([gamma, gamma, -gamma, -gamma])
    N = lattice.n_nodes
    import scipy.sparse as sp

    return sp.csr_matrix((vals, (rows, cols)), shape=(N, N))


@dataclass(frozen=True)
class ForwardSolution:
    """The forward map at one γ.

    Attributes
    ----------
    dtn : (4n, 4n) float64 — the DtN matrix Λ(γ).
    potentials : (N, 4n) float64 — harmonic extensions ``U = [I; −L_II⁻¹ L_IB]``; column k is the
        potential on every node for Dirichlet data ``e_k``.
    interior_factor : banded Cholesky factor of ``L_II`` (LAPACK upper form), reused by
        :meth:`solve_interior` for further right-hand sides.
    """

    dtn: np.ndarray
    potentials: np.ndarray
    interior_factor: np.ndarray

    def solve_interior(self, rhs: np.ndarray) -> np.ndarray:
        """``L_II⁻¹ rhs`` for rhs of shape (n², …) with the stored factorisation."""
        from scipy.linalg import cho_solve_banded

        return cho_solve_banded((self.interior_factor, False), rhs)


def _banded_upper(L_ii: sp.spmatrix, bandwidth: int) -> np.ndarray:
    """``L_II`` in LAPACK upper banded storage: ``ab[bandwidth − k, j] = L_II[j − k, j]``."""
    size = L_ii.shape[0]
    dia = L_ii.todia()
    ab = np.zeros((bandwidth + 1, size))
    for k in range(min(bandwidth, size - 1) + 1):
        ab[bandwidth - k, k:] = dia.diagonal(k)
    return ab


def solve_forward(lattice: Lattice, gamma: np.ndarray) -> ForwardSolution:
    """DtN matrix and harmonic extensions with one banded Cholesky factorisation of ``L_II``.

    In row-major interior order ``L_II`` is symmetric positive definite with bandwidth n, so a
    banded Cholesky costs O(n⁴) for all 4n right-hand sides — faster than a general sparse LU
    (whose multi-RHS solve dominates) at every n we use, and free of fill-in heuristics.
    """
    from scipy.linalg import cho_solve_banded, cholesky_banded

    L = kirchhoff_matrix(lattice, gamma).tocsc()
    nb = lattice.n_boundary
    L_bb = L[:nb, :nb].toarray()
    L_ib = L[nb:, :nb]  # CSC, one non-zero per column: a boundary node has one interior neighbour
    # γ is checked finite and positive, so LAPACK's finiteness scans (a copy of every operand:
    # ≈ 15 % of the time at n = 128) are skipped.
    factor = cholesky_banded(_banded_upper(L[nb:, nb:], lattice.n), lower=False, check_finite=False)
    rhs = np.asfortranarray(L_ib.toarray())
    interior = -cho_solve_banded((factor, False), rhs, check_finite=False)  # (n², 4n): one per e_k
    U = np.vstack([np.eye(nb), interior])
    # L_BI · interior: row b is −γ_b times the interior row of b's neighbour — O(n³) instead of the
    # dense product's O(n⁵), and bit-identical to it (the other terms of the dense sum are exact zeros).
    dtn = L_bb + L_ib.data[:, None] * interior[L_ib.indices]
    dtn = 0.5 * (dtn + dtn.T)  # exact symmetry; removes rounding asymmetry only
    return ForwardSolution(dtn=dtn, potentials=U, interior_factor=factor)


DENSE_MAX_N = 16
"""Up to this n, :func:`dtn_matrix` solves with numpy alone (see there)."""


def dtn_matrix(lattice: Lattice, gamma: np.ndarray) -> np.ndarray:
    """DtN (response) matrix ``Λ = L_BB − L_BI L_II⁻¹ L_IB``, shape (4n, 4n), boundary order.

    For n <= :data:`DENSE_MAX_N` by one dense LU solve in numpy (:func:`_dtn_dense`; ``L_II`` is at
    most 256×256 there, a negligible solve), so that a short job that only needs Λ (generating a
    dataset, evaluating a residual) never imports scipy; above, by :func:`solve_forward`'s banded
    Cholesky. The two agree to rounding (≈ 1e-15 relative, tested).
    """
    if lattice.n <= DENSE_MAX_N:
        return _dtn_dense(lattice, check_gamma(lattice, gamma))
    return solve_forward(lattice, gamma).dtn


def _dtn_dense(lattice: Lattice, gamma: np.ndarray) -> np.ndarray:
    """Λ from the dense Kirchhoff matrix (N×N, assembled directly) and ``numpy.linalg.solve``."""
    a, b = lattice.edges.T
    nb = lattice.n_boundary
    L = np.zeros((lattice.n_nodes, lattice.n_nodes))
    np.add.at(L, (a, a), gamma)
    np.add.at(L, (b, b), gamma)
    np.add.at(L, (a, b), -gamma)
    np.add.at(L, (b, a), -gamma)
    L_ib = L[nb:, :nb]
    dtn = L[:nb, :nb] - L_ib.T @ np.linalg.solve(L[nb:, nb:], L_ib)
    return 0.5 * (dtn + dtn.T)  # exact symmetry, as solve_forward


def harmonic_extensions(lattice: Lattice, gamma: np.ndarray) -> np.ndarray:
    """Harmonic extensions ``U`` (N×4n) of the boundary unit vectors; see :class:`ForwardSolution`."""
    return solve_forward(lattice, gamma).potentials
