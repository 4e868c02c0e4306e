"""Boundary orders of DtN matrices measured or computed elsewhere, mapped to ours (MATH.md §1).

Our order is ``N_1..N_n, E_1..E_n, S_n..S_1, W_n..W_1`` (:mod:`.lattice`). A *layout* is another
order of the same 4n boundary nodes, given as a permutation ``perm`` of shape (4n,): position
``t`` of the foreign order is our boundary index ``perm[t]``, so that

    ``Λ_theirs = Λ_ours[perm][:, perm]``  and  ``Λ_ours[perm][:, perm] ← Λ_theirs``.

The same permutation maps a mask. Adding a layout is one ``@register_boundary_layout`` function.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .lattice import Lattice

BOUNDARY_LAYOUTS: dict[str, Callable[[Lattice], np.ndarray]] = {}
"""Registry: name -> function(lattice) -> (4n,) int permutation (see the module docstring)."""


def register_boundary_layout(name: str):
    """Decorator registering a boundary order under ``name``."""
    def deco(func: Callable[[Lattice], np.ndarray]):
        BOUNDARY_LAYOUTS[name] = func
        return func
    return deco


@register_boundary_layout("ours")
def ours(lattice: Lattice) -> np.ndarray:
    """MATH.md §1: ``N_1..N_n, E_1..E_n, S_n..S_1, W_n..W_1`` (the identity)."""
    return np.arange(lattice.n_boundary)


@register_boundary_layout("authors")
def authors(lattice: Lattice) -> np.ndarray:
    """The paper's authors' code: ``E_1..E_n, S_n..S_1, W_n..W_1, N_1..N_n``.

    Clockwise like ours, but starting at ``E_1``: ours rotated by n, i.e.
    ``Λ_theirs = roll(Λ_ours, −n, axis=(0, 1))``.
    """
    L, n = lattice, lattice.n
    return np.array([L.east(i) for i in range(1, n + 1)] + [L.south(j) for j in range(n, 0, -1)]
                    + [L.west(i) for i in range(n, 0, -1)] + [L.north(j) for j in range(1, n + 1)],
                    dtype=np.int64)


def boundary_permutation(layout: str, n: int | Lattice) -> np.ndarray:
    """The (4n,) permutation of the named layout: its position t holds our boundary index."""
    lattice = n if isinstance(n, Lattice) else Lattice(n)
    try:
        builder = BOUNDARY_LAYOUTS[layout]
    except KeyError:
        raise ValueError(f"unknown boundary layout {layout!r} (known: "
                         f"{', '.join(sorted(BOUNDARY_LAYOUTS))})") from None
    return builder(lattice)


def _lattice_of(matrix: np.ndarray) -> Lattice:
    m = matrix.shape[0] if matrix.ndim == 2 and matrix.shape[0] == matrix.shape[1] else 0
    if m == 0 or m % 4:
        raise ValueError(f"a boundary matrix must be 4n×4n with n >= 1, got shape {matrix.shape}")
    return Lattice(m // 4)


def to_our_order(matrix: np.ndarray, layout: str) -> np.ndarray:
    """A (4n, 4n) matrix (Λ, a mask) whose rows and columns follow ``layout``, in our order."""
    matrix = np.asarray(matrix)
    perm = boundary_permutation(layout, _lattice_of(matrix))
    out = np.empty_like(matrix)
    out[np.ix_(perm, perm)] = matrix
    return out


def from_our_order(matrix: np.ndarray, layout: str) -> np.ndarray:
    """A (4n, 4n) matrix in our order, rows and columns rearranged into ``layout``."""
    matrix = np.asarray(matrix)
    perm = boundary_permutation(layout, _lattice_of(matrix))
    return matrix[np.ix_(perm, perm)]
