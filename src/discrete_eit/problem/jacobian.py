"""Jacobian of the DtN map with respect to the edge conductivities (MATH.md §7, paper Prop. 6.1).

``∂Λ_ij/∂γ_e = (u_i(a) − u_i(b)) (u_j(a) − u_j(b))`` for edge e = (a, b), u_i = column i of the
harmonic extensions U.
"""

from __future__ import annotations

import numpy as np

from .forward import solve_forward
from .lattice import Lattice


def edge_differences(lattice: Lattice, potentials: np.ndarray) -> np.ndarray:
    """``D = U_a − U_b``: (n_edges, 4n) potential drop across every edge for every e_k."""
    a, b = lattice.edges.T
    return potentials[a] - potentials[b]


def dtn_jacobian(lattice: Lattice, gamma: np.ndarray, entries: np.ndarray | None = None) -> np.ndarray:
    """Jacobian of selected DtN entries with respect to γ (MATH.md §7).

    Parameters
    ----------
    lattice : the n×n lattice.
    gamma : (2n(n+1),) conductivities, MATH.md edge order.
    entries : optional (4n, 4n) bool mask or (m, 2) int array of (row, column) pairs;
        default all (4n)² entries.

    Returns
    -------
    J : (m, 2n(n+1)) float64, ``J[s, e] = ∂Λ[i_s, j_s]/∂γ_e`` (dimensionless: Λ has the units of γ).
        Rows, the entries (i_s, j_s) in boundary order (MATH.md §1): for ``entries=None`` all
        m = (4n)² in row-major order, ``s = 4n·i + j`` (``J.reshape(4n, 4n, -1)[i, j]`` is the
        gradient of Λ_ij); for a mask the True entries in row-major order (``np.nonzero(mask)``);
        for pairs the given order. Columns, the edges in the order of γ:
        ``concat(gh.ravel(), gv.ravel())`` — first the n(n+1) horizontal edges row by row, then
        the (n+1)n vertical ones.
    """
    D = edge_differences(lattice, solve_forward(lattice, gamma).potentials)
    return jacobian_from_differences(D, *entry_pairs(lattice, entries))


def jacobian_from_differences(D: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """(m, E) Jacobian rows ``D[e, i_s] D[e, j_s]`` from edge differences D (E, 4n)."""
    return (D[:, rows] * D[:, cols]).T


def entry_pairs(lattice: Lattice, entries: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """(rows, cols) of the selected entries: a bool mask, an (m, 2) array, or None (all)."""
    nb = lattice.n_boundary
    if entries is None:
        entries = np.ones((nb, nb), dtype=bool)
    entries = np.asarray(entries)
    if entries.dtype == bool:
        if entries.shape != (nb, nb):
            raise ValueError(f"entry mask must have shape {(nb, nb)}, got {entries.shape}")
        return np.nonzero(entries)
    if entries.ndim != 2 or entries.shape[1] != 2:
        raise ValueError(f"entries must be a bool mask or an (m, 2) index array, got shape {entries.shape}")
    return entries[:, 0], entries[:, 1]
