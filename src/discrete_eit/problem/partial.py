"""Catalogue of partial-data sets: masks over the entries of Λ (MATH.md §3, §6.3).

Entry (i, j) of a mask is True when Λ(i, j) is measured; column j is the experiment with
Dirichlet data e_j. Adding a named set is one ``@register_partial_set`` function.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .lattice import Lattice

PARTIAL_SETS: dict[str, Callable[[Lattice], np.ndarray]] = {}
"""Registry: name -> function(lattice) -> (4n, 4n) bool mask."""


def register_partial_set(name: str):
    """Decorator registering a mask builder under ``name``."""
    def deco(func: Callable[[Lattice], np.ndarray]):
        PARTIAL_SETS[name] = func
        return func
    return deco


def partial_mask(name: str, n: int | Lattice) -> np.ndarray:
    """The (4n, 4n) bool mask of the named partial set."""
    lattice = n if isinstance(n, Lattice) else Lattice(n)
    try:
        builder = PARTIAL_SETS[name]
    except KeyError:
        raise ValueError(f"unknown partial set {name!r}; known: {', '.join(sorted(PARTIAL_SETS))}") from None
    return builder(lattice)


def _columns_from(lattice: Lattice, first: int) -> np.ndarray:
    mask = np.zeros((lattice.n_boundary, lattice.n_boundary), dtype=bool)
    mask[:, first:] = True
    return mask


@register_partial_set("full")
def full(lattice: Lattice) -> np.ndarray:
    """Every entry measured."""
    return np.ones((lattice.n_boundary, lattice.n_boundary), dtype=bool)


@register_partial_set("last3n")
def last3n(lattice: Lattice) -> np.ndarray:
    """Columns n+1..4n: Dirichlet data on E, S, W only (the N×N block is missing)."""
    return _columns_from(lattice, lattice.n)


@register_partial_set("last2n")
def last2n(lattice: Lattice) -> np.ndarray:
    """Columns 2n+1..4n: Dirichlet data on S, W only.

    MATH.md §3 calls this a non-determining set; measured here, the rank rule completes it and its
    Jacobian has full rank, but noise is amplified enormously (completion error / δ ≈ 2e3 at
    n = 6, 2e5 at n = 8): an unstable, not an undetermined, set. See docs/conventions.md.
    """
    return _columns_from(lattice, 2 * lattice.n)


def corner_triangles(lattice: Lattice) -> np.ndarray:
    """From each corner, entries between its two sides at distances d1 + d2 <= n+1.

    Rows/columns: NW corner (N_j, W_i), NE corner (N_j, E_i), SE corner (E_i, S_j),
    SW corner (S_j, W_i). 2n(n+1) entries; its Jacobian has rank 2n(n+1) − 1.
    """
    L, n = lattice, lattice.n
    mask = np.zeros((L.n_boundary, L.n_boundary), dtype=bool)
    for d1 in range(1, n + 1):
        for d2 in range(1, n + 2 - d1):
            mask[L.north(d1), L.west(d2)] = True              # NW: N_j at j, W_i at i
            mask[L.north(n + 1 - d1), L.east(d2)] = True      # NE: N_j at n+1-j, E_i at i
            mask[L.east(n + 1 - d1), L.south(n + 1 - d2)] = True  # SE: E_i at n+1-i, S_j at n+1-j
            mask[L.south(d1), L.west(n + 1 - d2)] = True      # SW: S_j at j, W_i at n+1-i
    return mask


register_partial_set("corners")(corner_triangles)


@register_partial_set("sigma0")
def sigma0(lattice: Lattice) -> np.ndarray:
    """Minimal determining set (2n(n+1) entries): corner triangles with (N_1, W_n) -> (N_1, S_1)."""
    mask = corner_triangles(lattice)
    n1 = lattice.north(1)
    mask[n1, lattice.west(lattice.n)] = False
    mask[n1, lattice.south(1)] = True
    return mask
