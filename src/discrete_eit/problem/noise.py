"""Relative entrywise Gaussian noise on DtN data (MATH.md §3)."""

from __future__ import annotations

import numpy as np


def add_relative_noise(dtn: np.ndarray, delta: float, seed: int, symmetric: bool = False) -> np.ndarray:
    """``Λ^δ = Λ + δ · Λ ⊙ ξ`` with ξ iid N(0, 1) drawn for all (4n)² entries.

    ``numpy.random.default_rng(seed)`` draws ξ in row-major order, so the seed alone fixes the
    noise. ``symmetric=True`` mirrors the upper triangle of ξ (diagonal included) onto the lower
    one, so that Λ^δ stays symmetric and every entry keeps unit variance.
    ``delta = 0`` returns an exact copy.
    """
    if not np.isfinite(delta) or delta < 0:
        raise ValueError(f"noise level delta must be finite and >= 0, got {delta}")
    xi = np.random.default_rng(seed).standard_normal(dtn.shape)
    if symmetric:
        xi = np.triu(xi) + np.triu(xi, 1).T
    return dtn + delta * dtn * xi
