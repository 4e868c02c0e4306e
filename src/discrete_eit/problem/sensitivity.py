"""Linearised error prediction (MATH.md §7, paper Thm. 6.2).

For an index set Σ whose Jacobian rows ``J_Σ`` have full column rank, the first-order error of
the output-least-squares minimiser is ``dγ = A dΛ_Σ`` with ``A = (J_ΣᵀJ_Σ)⁻¹J_Σᵀ``. Under the
relative noise of MATH.md §3 (``dΛ_s = δ Λ_s ξ_s``) the predicted standard deviation is
``std(dγ_e) = δ · sqrt(Σ_s A_es² Λ_s²)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .forward import solve_forward
from .jacobian import edge_differences, entry_pairs, jacobian_from_differences
from .lattice import Lattice

RANK_RTOL = 1e-10
"""Singular values below ``RANK_RTOL · σ_max`` count as zero in the rank check."""


@dataclass
class SensitivityResult:
    """Predicted pointwise error.

    std_per_delta : (2n(n+1),) predicted std of γ̂_e per unit δ (NaN when rank deficient).
    rank, n_params : numerical rank of J_Σ and number of unknowns 2n(n+1).
    singular_values : of J_Σ, descending.
    """

    std_per_delta: np.ndarray
    rank: int
    n_params: int
    singular_values: np.ndarray

    @property
    def rank_deficiency(self) -> int:
        return self.n_params - self.rank

    @property
    def full_rank(self) -> bool:
        return self.rank_deficiency == 0


def predicted_std(lattice: Lattice, gamma: np.ndarray, entries: np.ndarray) -> SensitivityResult:
    """Predicted std per edge (per unit δ) for data on ``entries`` (bool mask or (m,2) pairs).

    Reports the rank deficiency instead of a number (NaN std) when ``J_Σ`` lacks full column rank.
    """
    fwd = solve_forward(lattice, gamma)
    D = edge_differences(lattice, fwd.potentials)
    rows, cols = entry_pairs(lattice, entries)
    J = jacobian_from_differences(D, rows, cols)  # (m, E)
    U, s, Vt = np.linalg.svd(J, full_matrices=False)
    rank = int(np.sum(s > RANK_RTOL * s[0])) if s.size else 0
    E = lattice.n_edges
    if rank < E:
        return SensitivityResult(np.full(E, np.nan), rank, E, s)
    A = (Vt.T / s) @ U.T  # (E, m) = (JᵀJ)⁻¹Jᵀ via the SVD
    lam = fwd.dtn[rows, cols]
    std = np.sqrt(((A * lam) ** 2).sum(axis=1))
    return SensitivityResult(std, rank, E, s)
