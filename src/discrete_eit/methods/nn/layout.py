"""The problem's data on the ``(n+2)×(n+2)`` point grid (numpy only; MATH.md §1, §4).

Grid point (r, c) is the lattice point (r, c) of :mod:`discrete_eit.problem.lattice`: the interior
nodes are ``1 <= r, c <= n``, the boundary nodes the rest of the outer ring, and the four corners are
unused. On this grid γ in MATH.md edge order, ``concat(gh.ravel(), gv.ravel())``, sits on the
horizontal and vertical neighbour pairs, which is what lets :mod:`.loss` write ``L(γ) U`` as four
shifted slices. The sample index k is the last axis of every array.

Also the batch checks shared by the reference network (:mod:`.model`) and the trainer
(:mod:`.trainer`): one lattice size per batch and per-edge bounds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from discrete_eit.problem.datasets import Dataset
from discrete_eit.problem.lattice import Lattice


@dataclass(frozen=True)
class GridData:
    """One problem's data laid out on the ``(n+2)×(n+2)`` point grid (corners unused).

    The sample index k is the last (contiguous) axis: the stencils then act on whole rows of
    4n samples, which vectorises well, and every problem of a batch is computed the same way.

    Attributes
    ----------
    psi : (n+2, n+2, 4n) float64 — ``psi[r, c, k]`` = measured Λ^δ(t, k) at the grid point (r, c)
        of boundary node t, 0 elsewhere and on unmeasured entries.
    weight : (n+2, n+2, 4n) float64 — loss weight of each residual entry, already divided by m:
        1/m at interior points and λ M_k(t)/m at boundary points of active samples; 0 for dropped
        samples, unmeasured entries and the corners.
    active : (4n,) bool — samples with at least one measured entry.
    """

    psi: np.ndarray
    weight: np.ndarray
    active: np.ndarray


def grid_data(dataset: Dataset, lam: float) -> GridData:
    """Lay out a dataset's Λ^δ and mask on the point grid (see :class:`GridData`)."""
    if not (lam > 0 and math.isfinite(lam)):
        raise ValueError(f"lam (the boundary weight λ) must be finite and > 0, got {lam}")
    lattice = Lattice(dataset.n)
    n, S = lattice.n, lattice.n_boundary
    rows, cols = lattice.boundary_points.T
    mask = np.asarray(dataset.mask, dtype=bool)  # [t, k]: entry t of experiment k measured
    active = mask.any(axis=0)
    m = int(active.sum())  # >= 1: Dataset validation rejects an empty mask
    weight = np.zeros((n + 2, n + 2, S))
    weight[1:-1, 1:-1, active] = 1.0
    weight[rows, cols, :] = lam * (mask & active[None, :])  # [r_t, c_t, k] = λ M[t, k]
    weight /= m
    psi = np.zeros((n + 2, n + 2, S))
    psi[rows, cols, :] = dataset.filled_dtn
    return GridData(psi=psi, weight=weight, active=active)


def dirichlet_grid(lattice: Lattice, ghost: int = 0) -> np.ndarray:
    """(n+2+2·ghost, n+2+2·ghost, 4n) float64: the Dirichlet data ``e_k`` of every sample on the grid.

    ``ghost`` adds that many rings of zeros around the grid (see :func:`.loss.loss_and_grad`).
    """
    n, S = lattice.n, lattice.n_boundary
    out = np.zeros((n + 2 + 2 * ghost, n + 2 + 2 * ghost, S))
    rows, cols = lattice.boundary_points.T
    out[rows + ghost, cols + ghost, np.arange(S)] = 1.0
    return out


def kernel_to_grid(K, n: int):
    """(B, n², 4n) Green kernel → (B, n, n, 4n) grid layout, ``Kg[b, i, j, k] = K[b, i n + j, k]``
    (the kernel of interior point (i+1, j+1)). A reshape: works for torch tensors and numpy."""
    return K.reshape(K.shape[0], n, n, 4 * n)


def grid_to_kernel(Kg, n: int):
    """Inverse of :func:`kernel_to_grid`: (B, n, n, 4n) → (B, n², 4n)."""
    return Kg.reshape(Kg.shape[0], n * n, 4 * n)


def true_kernel(lattice: Lattice, gamma: np.ndarray) -> np.ndarray:
    """The Green kernel ``K = −L_II⁻¹ L_IB`` of γ, shape (n², 4n): the loss's exact minimiser."""
    from discrete_eit.problem.forward import solve_forward

    return solve_forward(lattice, gamma).potentials[lattice.n_boundary:]


def _common_n(datasets: list[Dataset]) -> int:
    """The lattice size n shared by every dataset of a batch (one n: the tensors are stacked)."""
    if not datasets:
        raise ValueError("need at least one dataset")
    ns = {d.n for d in datasets}
    if len(ns) != 1:
        raise ValueError(f"a batch must share one lattice size, got n = {sorted(ns)}")
    return ns.pop()


def _box(B: int, E: int, lower, upper, fixed, fixed_values) -> tuple[np.ndarray, np.ndarray]:
    """Per-edge bounds of a batch; a fixed edge gets lower = upper = its value.

    Parameters
    ----------
    B, E : batch size and number of edges 2n(n+1).
    lower, upper : scalar, (E,) or (B, E) box constraints.
    fixed : None or scalar, (E,) or (B, E) bool — edges held at ``fixed_values``.
    fixed_values : scalar, (E,) or (B, E) values (> 0) of the fixed edges.

    Returns
    -------
    lo, hi : (B, E) float64 bounds for the projection ``clamp(γ, lo, hi)``.
    """
    lo = np.array(np.broadcast_to(np.asarray(lower, dtype=float), (B, E)))
    hi = np.array(np.broadcast_to(np.asarray(upper, dtype=float), (B, E)))
    if np.any(lo > hi):
        raise ValueError("box constraints need lower <= upper on every edge")
    if fixed is not None:
        fixed = np.broadcast_to(np.asarray(fixed, dtype=bool), (B, E))
        vals = np.broadcast_to(np.asarray(fixed_values, dtype=float), (B, E))
        if np.any(fixed & ~(vals > 0)):
            raise ValueError("fixed edge values must be > 0")
        lo = np.where(fixed, vals, lo)
        hi = np.where(fixed, vals, hi)
    return lo, hi

