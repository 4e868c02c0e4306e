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
    """Jacobian of selected DtN entries with respect to γ.

    Parameters
    ----------
    lattice : the n×n lattice.
    gamma : (2n(n+1),) conductivities.
    entries : optional (4n, 4n) bool mask or (m, 2) int array of (row, column) pairs;
        default all (4n)² entries in row-major order.

    Returns
    -------
    (m, 2n(n+1)) float64 array, row s = gradient of ``Λ[i_s, j_s]``.
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
