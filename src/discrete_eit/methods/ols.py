"""``ols``: classical output least squares, the baseline of MATH.md §4 ("Classical baseline ols").

Minimises the weighted DtN misfit over the measured index set Σ,

    F(γ) = Σ_{(i,j)∈Σ} w_ij (Λ(γ)_ij − Λ^δ_ij)²,     w_ij = 1 / max(|Λ^δ_ij|, 1e-12·max|Λ^δ|)²,

by Levenberg–Marquardt in θ = log γ. The weights undo the relative noise model of MATH.md §3
(``Λ^δ = Λ + δ Λ ⊙ ξ``): each weighted residual is ≈ δ ξ_ij, so every entry counts as much as
its information, whereas unweighted OLS is dominated by the large near-diagonal entries, reaches
the discrepancy level after 2–5 steps and over-regularises. The floor 1e-12·max|Λ^δ| only guards
against exact zeros.

Jacobian (MATH.md §7): ``∂Λ_ij/∂γ_e = D_ei D_ej`` with ``D = U_a − U_b`` the edge drops of the
harmonic extensions, from one forward solve per iterate; in θ, ``J_θ = J diag(γ)``.

Start: the best constant conductivity, in closed form since ``Λ(c·1) = c Λ(1)``:
``c = Σ w Λ₁ Λ^δ / Σ w Λ₁²``.

Stop (``discrepancy``, the default when δ > 0 is known): first iterate with
``F(γ) <= τ² δ² Σ w_ij (Λ^δ_ij)²`` — the expected value of F at the truth under the noise model,
which for the relative weights is ``τ² δ² |Σ|``; τ = 1 by default.
``converge``: until the step, gradient or loss reaches rounding level (exact data).
"""

from __future__ import annotations

import numpy as np

from discrete_eit.problem.datasets import Dataset
from discrete_eit.problem.forward import ForwardSolution, dtn_matrix, solve_forward
from discrete_eit.problem.jacobian import edge_differences
from discrete_eit.problem.metrics import dtn_residual

from .least_squares import HISTORY_COLUMNS, lm_options, lm_reconstruction, lm_settings, minimize_log_gamma
from .registry import Option, Reconstruction, register_method

WEIGHTINGS = ("relative", "uniform")
# Relative floor of |Λ^δ_ij| in the weights: only guards against exactly zero measurements.
_WEIGHT_FLOOR = 1e-12


class OLSModel:
    """Weighted output-least-squares misfit of a dataset and its linearisation.

    Parameters
    ----------
    dataset : measured data (partial masks allowed).
    weighting : ``relative`` (w_ij = 1/|Λ^δ_ij|², the default) or ``uniform`` (w = 1/max|Λ^δ|²,
        plain OLS up to a scale that keeps F comparable with δ²|Σ|).

    Attributes
    ----------
    rows, cols : (M,) the measured entries (i, j), row-major.
    data : (M,) Λ^δ on them.
    sqrt_w : (M,) square roots of the weights.
    """

    def __init__(self, dataset: Dataset, weighting: str = "relative"):
        if weighting not in WEIGHTINGS:
            raise ValueError(f"ols: weighting must be one of {', '.join(WEIGHTINGS)}, got {weighting!r}")
        self.dataset = dataset
        self.lattice = dataset.lattice
        self.rows, self.cols = np.nonzero(dataset.mask)
        self.data = dataset.dtn[self.rows, self.cols]
        scale = np.max(np.abs(self.data))
        if not scale > 0:
            raise ValueError(f"{dataset.source}: ols needs at least one nonzero measured entry")
        if weighting == "relative":
            self.sqrt_w = 1.0 / np.maximum(np.abs(self.data), _WEIGHT_FLOOR * scale)
        else:
            self.sqrt_w = np.full(self.data.size, 1.0 / scale)

    @property
    def noise_factor(self) -> float:
        """E F(γ†) / δ² = Σ w_ij Λ_ij² under the noise model, with Λ^δ for Λ (= |Σ| for the
        relative weights, unless the floor is active)."""
        return float(np.sum((self.sqrt_w * self.data) ** 2))

    @property
    def n_residuals(self) -> int:
        """|Σ|, the number of measured entries."""
        return self.data.size

    def residual(self, dtn: np.ndarray) -> np.ndarray:
        """(M,) weighted residual ``√w (Λ(γ) − Λ^δ)`` on Σ for a (4n, 4n) Λ(γ)."""
        return self.sqrt_w * (dtn[self.rows, self.cols] - self.data)

    def jacobian_t(self, potentials: np.ndarray, scale: np.ndarray | None = None) -> np.ndarray:
        """(E, M) *transposed* Jacobian of :meth:`residual` with respect to γ, from U (N, 4n).

        ``scale`` (E,) multiplies row e (``scale = γ`` gives the Jacobian in θ = log γ). Built
        transposed because every use (Jᵀr, JᵀJ) wants it that way round and C-contiguous.
        """
        D = edge_differences(self.lattice, potentials)
        if scale is not None:
            D_rows = scale[:, None] * D[:, self.rows]
        else:
            D_rows = D[:, self.rows]
        return D_rows * (self.sqrt_w * D[:, self.cols])

    def point(self, gamma: np.ndarray) -> OLSPoint:
        """The misfit at γ (E,): one forward solve."""
        return OLSPoint(self, solve_forward(self.lattice, gamma))

    def best_constant(self) -> float:
        """argmin_c F(c·1) = Σ w Λ₁ Λ^δ / Σ w Λ₁² (Λ is linear in a constant conductivity)."""
        lam1 = dtn_matrix(self.lattice, np.ones(self.lattice.n_edges))[self.rows, self.cols]
        w = self.sqrt_w ** 2
        c = np.sum(w * lam1 * self.data) / np.sum(w * lam1 * lam1)
        if not (np.isfinite(c) and c > 0):
            raise ValueError(f"ols: the best constant conductivity is not positive ({c:.3g}); are the "
                             "data a DtN map with the sign convention of MATH.md §2?")
        return float(c)


class OLSPoint:
    """The weighted misfit at one γ (a :class:`~.least_squares.ModelPoint`).

    Attributes
    ----------
    loss : F(γ). noise_factor : as :attr:`OLSModel.noise_factor` (does not depend on γ).
    """

    def __init__(self, model: OLSModel, forward: ForwardSolution):
        self.model = model
        self.forward = forward
        self._r = model.residual(forward.dtn)
        self.loss = float(self._r @ self._r)
        self.noise_factor = model.noise_factor

    def residual(self) -> np.ndarray:
        """(M,) weighted residual on Σ."""
        return self._r

    def jacobian(self, scale: np.ndarray) -> np.ndarray:
        """(M, E) ``J diag(scale)``."""
        return self.model.jacobian_t(self.forward.potentials, scale).T

    def gauss_newton(self, scale: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(diag(s) Jᵀr, diag(s) JᵀJ diag(s))``, shapes (E,), (E, E)."""
        Jt = self.model.jacobian_t(self.forward.potentials, scale)
        return Jt @ self._r, Jt @ Jt.T


@register_method("ols", options=(
    *lm_options("discrepancy factor τ: stop when Σ w (Λ(γ) − Λ^δ)² <= τ² δ² Σ w (Λ^δ)² "
                "(= τ² δ² |Σ| for relative weights)"),
    Option("weighting", str, "relative", "residual weights: 1/|Λ^δ_ij|² (relative) or uniform",
           choices=WEIGHTINGS),
), history_columns=HISTORY_COLUMNS)
def ols(dataset: Dataset, max_iterations: int | None = None, tol: float = 1e-12, tau: float = 1.0,
        delta: float | None = None, stop: str = "auto", weighting: str = "relative",
        solver: str = "auto", acceleration: str = "auto") -> Reconstruction:
    """Weighted output least squares by Levenberg-Marquardt in log γ (classical baseline).

    Returns a :class:`Reconstruction` as :func:`~.least_squares.lm_reconstruction` builds it;
    ``info`` adds weighting, measured_entries and dtn_residual (the relative DtN residual).
    """
    settings = lm_settings(dataset, "ols", max_iterations=max_iterations, tol=tol, tau=tau, delta=delta,
                           stop=stop, solver=solver, acceleration=acceleration)
    model = OLSModel(dataset, weighting)
    theta0 = np.full(model.lattice.n_edges, np.log(model.best_constant()))
    result = minimize_log_gamma(model.point, theta0, model.n_residuals, settings, dataset.gamma_true)
    return lm_reconstruction(result, dataset, settings,
                             {"weighting": weighting, "measured_entries": int(model.n_residuals),
                              "dtn_residual": dtn_residual(dataset, np.exp(result.theta))})
