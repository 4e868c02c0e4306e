"""Error metrics for reconstructions (MATH.md §8)."""

from __future__ import annotations

import numpy as np

from .datasets import Dataset
from .forward import dtn_matrix
from .lattice import Lattice


def relative_l2_error(gamma_hat: np.ndarray, gamma: np.ndarray) -> float:
    """``‖γ̂ − γ‖₂ / ‖γ‖₂``."""
    return float(np.linalg.norm(gamma_hat - gamma) / np.linalg.norm(gamma))


def pointwise_relative_error(gamma_hat: np.ndarray, gamma: np.ndarray) -> np.ndarray:
    """Per-edge ``|γ̂_e − γ_e| / γ_e``, shape (2n(n+1),)."""
    return np.abs(gamma_hat - gamma) / gamma


def max_relative_error(gamma_hat: np.ndarray, gamma: np.ndarray) -> float:
    """``max_e |γ̂_e − γ_e| / γ_e``."""
    return float(pointwise_relative_error(gamma_hat, gamma).max())


def dtn_residual(dataset: Dataset, gamma_hat: np.ndarray) -> float:
    """``‖Λ(γ̂) − Λ^δ‖_F / ‖Λ^δ‖_F`` over the measured entries; NaN if γ̂ is not positive and finite."""
    if not np.all(np.isfinite(gamma_hat)) or np.any(gamma_hat <= 0):
        return float("nan")
    model = dtn_matrix(dataset.lattice, gamma_hat)[dataset.mask]
    data = dataset.dtn[dataset.mask]
    return float(np.linalg.norm(model - data) / np.linalg.norm(data))


def error_metrics(dataset: Dataset, gamma_hat: np.ndarray) -> dict[str, float | None]:
    """All metrics of one reconstruction; error metrics are None when the truth is unknown.

    ``boundary_error`` / ``centre_error`` are relative ℓ² errors restricted to the edges touching
    the outer ring of the lattice (:attr:`Lattice.boundary_ring`) and to the remaining edges.
    """
    lattice: Lattice = dataset.lattice
    out: dict[str, float | None] = {"dtn_residual": dtn_residual(dataset, gamma_hat)}
    gamma = dataset.gamma_true
    if gamma is None:
        return {"relative_l2_error": None, "max_relative_error": None, "boundary_error": None,
                "centre_error": None, **out}
    ring = lattice.boundary_ring
    out.update(
        relative_l2_error=relative_l2_error(gamma_hat, gamma),
        max_relative_error=max_relative_error(gamma_hat, gamma),
        boundary_error=relative_l2_error(gamma_hat[ring], gamma[ring]),
        centre_error=relative_l2_error(gamma_hat[~ring], gamma[~ring]) if (~ring).any() else None,
    )
    return out
