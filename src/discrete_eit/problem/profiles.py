"""Conductivity profiles γ (MATH.md §3). Register a new one with ``@register_profile``."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .lattice import Lattice

PROFILES: dict[str, Callable[..., np.ndarray]] = {}
"""Registry: name -> function(lattice, seed) -> γ of shape (2n(n+1),)."""


def register_profile(name: str):
    def deco(func):
        PROFILES[name] = func
        return func
    return deco


def conductivity_profile(name: str, n: int | Lattice, seed: int = 0) -> np.ndarray:
    """γ of the named profile on the n×n lattice (``seed`` is used by random profiles only)."""
    lattice = n if isinstance(n, Lattice) else Lattice(n)
    try:
        builder = PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown profile {name!r}; known: {', '.join(sorted(PROFILES))}") from None
    return builder(lattice, seed)


@register_profile("wave")
def wave(lattice: Lattice, seed: int = 0) -> np.ndarray:
    """The paper's profile (5.1) as the authors' code builds it; values in [1/3, 1].

    ``gh[p−1,q−1] = (sin²(0.4p + 0.2q) + 0.5)/1.5`` (p = 1..n, q = 1..n+1) and
    ``gv[p−1,q−1] = (sin²(4p/11 + 2q/11) + 0.5)/1.5`` (p = 1..n+1, q = 1..n), p the row and q the
    column of the right (horizontal edge) or bottom (vertical edge) node. The authors' vertical array
    is built transposed, hence (4/11, 2/11) in row/column order (docs/MATH.md §3).
    """
    n = lattice.n
    p, q = np.meshgrid(np.arange(1, n + 1), np.arange(1, n + 2), indexing="ij")
    gh = (np.sin(0.4 * p + 0.2 * q) ** 2 + 0.5) / 1.5
    p, q = np.meshgrid(np.arange(1, n + 2), np.arange(1, n + 1), indexing="ij")
    gv = (np.sin(4 * p / 11 + 2 * q / 11) ** 2 + 0.5) / 1.5
    return lattice.join(gh, gv)


@register_profile("constant")
def constant(lattice: Lattice, seed: int = 0) -> np.ndarray:
    """Unit conductivity on every edge."""
    return np.ones(lattice.n_edges)


@register_profile("random")
def random(lattice: Lattice, seed: int = 0) -> np.ndarray:
    """iid U[0.3, 1] per edge from ``numpy.random.default_rng(seed)``."""
    return np.random.default_rng(seed).uniform(0.3, 1.0, lattice.n_edges)
