"""Linearised error prediction (MATH.md §7, paper Thm. 6.2).

For an index set Σ whose Jacobian rows ``J_Σ`` have full column rank, the first-order error of
the output-least-squares minimiser is ``dγ = A dΛ_Σ`` with ``A = (J_ΣᵀJ_Σ)⁻¹J_Σᵀ``. Under the
relative noise of MATH.md §3 (``dΛ_s = δ Λ_s ξ_s``) the predicted standard deviation is
``std(dγ_e) = δ · sqrt(Σ_s A_es² Λ_s²)``. The other registered noise models (:mod:`.noise`) have
their own covariance of dΛ_Σ = δ F ζ (ζ iid unit variance), so ``std(dγ_e) = δ ‖(A F)_e‖``:
``student_t`` the relative one (unit-variance ξ), ``additive`` F = max|Λ| · I, ``gain`` the
electrode gains (dΛ_ij = δ Λ_ij (a_i + b_j): F has the columns a_1..a_4n, b_1..b_4n).

:func:`error_bars` is the same prediction taken at a reconstruction γ̂ instead of the truth (for
measured data, where the truth is unknown): ``gamma_std = δ · std_per_delta(γ̂)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .forward import check_gamma, solve_forward
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


def predicted_std(lattice: Lattice, gamma: np.ndarray, entries: np.ndarray,
                  noise_model: str = "relative") -> SensitivityResult:
    """Predicted std per edge (per unit δ) for data on ``entries`` (bool mask or (m,2) pairs).

    ``noise_model`` names the covariance of the data noise (module docstring; default the paper's
    relative model, MATH.md §7). Reports the rank deficiency instead of a number (NaN std) when
    ``J_Σ`` lacks full column rank.
    """
    if noise_model not in NOISE_COVARIANCES:
        raise ValueError(f"no linearised error model for noise model {noise_model!r} (known: "
                         f"{', '.join(sorted(NOISE_COVARIANCES))})")
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
    std = NOISE_COVARIANCES[noise_model](A, fwd.dtn, rows, cols)
    return SensitivityResult(std, rank, E, s)


def _relative_std(A: np.ndarray, dtn: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    lam = dtn[rows, cols]
    return np.sqrt(((A * lam) ** 2).sum(axis=1))


def _additive_std(A: np.ndarray, dtn: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    # the noise scale max|Λ| is taken over the whole matrix, as the model draws it (before masking)
    return np.max(np.abs(dtn)) * np.sqrt((A ** 2).sum(axis=1))


def _gain_std(A: np.ndarray, dtn: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    # dΛ_s = δ Λ_s (a_{i_s} + b_{j_s}): F (m, 8n) has Λ_s in column i_s (a) and 4n + j_s (b)
    nb = dtn.shape[0]
    F = np.zeros((rows.size, 2 * nb))
    lam = dtn[rows, cols]
    s = np.arange(rows.size)
    F[s, rows] += lam
    F[s, nb + cols] += lam
    return np.sqrt(((A @ F) ** 2).sum(axis=1))


NOISE_COVARIANCES = {"relative": _relative_std, "student_t": _relative_std, "additive": _additive_std,
                     "gain": _gain_std}
"""Noise model -> function(A (E, m), Λ (4n, 4n), rows, cols) -> std per unit δ (E,): ``‖(A F)_e‖``."""


def error_bars(lattice: Lattice, gamma_hat: np.ndarray, entries: np.ndarray, delta: float,
               noise_model: str = "relative") -> np.ndarray:
    """Absolute 1σ error bars of a reconstruction: the linearised std (MATH.md §7) at γ̂.

    Parameters
    ----------
    lattice : the n×n lattice.
    gamma_hat : (2n(n+1),) the reconstruction, positive and finite (the point of linearisation).
    entries : (4n, 4n) bool mask (or (m, 2) pairs) of the measured entries.
    delta : the noise level δ in use (dimensionless, as ``noise_model`` defines it).
    noise_model : the covariance of the noise (:data:`NOISE_COVARIANCES`).

    Returns
    -------
    (2n(n+1),) float64, ``δ · std_per_delta(γ̂)``, in the units of γ.

    ``ValueError`` (one line) for a γ̂ that is not positive and finite, a δ that is not finite and
    ≥ 0, or an index set whose Jacobian at γ̂ is rank deficient (no finite error bar exists).
    """
    try:
        gamma_hat = check_gamma(lattice, gamma_hat, "the reconstruction γ̂")
    except ValueError as exc:
        raise ValueError(f"error bars: cannot linearise at γ̂: {exc}") from None
    if not (np.isfinite(delta) and delta >= 0):
        raise ValueError(f"error bars: noise level δ must be finite and >= 0, got {delta!r}")
    result = predicted_std(lattice, gamma_hat, entries, noise_model)
    if not result.full_rank:
        raise ValueError(f"error bars: the Jacobian of the measured entries at γ̂ is rank deficient by "
                         f"{result.rank_deficiency} (rank {result.rank} of {result.n_params}): these data do "
                         "not determine every edge, no linearised error bar exists")
    return float(delta) * result.std_per_delta
