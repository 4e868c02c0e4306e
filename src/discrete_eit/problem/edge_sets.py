"""Edge specifications: which edges a prior holds fixed (option ``fixed_edges`` of method ``nn``).

A specification is a comma-separated list of tokens, each

* ``E`` — edge index in MATH.md γ order, held at its true value (needs ``gamma_true``);
* ``E=VALUE`` — held at VALUE (> 0);
* ``spikes`` (the 4n boundary edges) or ``ring`` (``Lattice.boundary_ring``) — held at the true values.

Whitespace around tokens is ignored; an empty specification fixes nothing. This module is the
only parser of the format: the method, the region table and the figures all call it.
"""

from __future__ import annotations

import math

import numpy as np

from .lattice import Lattice

NAMED_SETS = ("spikes", "ring")


def _named(lattice: Lattice, token: str) -> np.ndarray:
    return lattice.spike_edges if token == "spikes" else np.flatnonzero(lattice.boundary_ring)


def _tokens(spec: str, lattice: Lattice) -> list[tuple[str, np.ndarray, float | None]]:
    """``(token, edge indices, explicit value or None)`` per token; ``ValueError`` naming a bad one."""
    out = []
    E = lattice.n_edges
    for token in (t.strip() for t in str(spec or "").split(",")):
        if not token:
            continue
        if token in NAMED_SETS:
            out.append((token, np.asarray(_named(lattice, token), dtype=int), None))
            continue
        key, sep, val = token.partition("=")
        try:
            e = int(key)
        except ValueError:
            raise ValueError(f"fixed edge {token!r}: expected INDEX, INDEX=VALUE, spikes or ring") from None
        if not 0 <= e < E:
            raise ValueError(f"fixed edge index {e} out of range 0..{E - 1} for n = {lattice.n}")
        value = None
        if sep:
            try:
                value = float(val)
            except ValueError:
                value = math.nan
            if not (value > 0 and math.isfinite(value)):
                raise ValueError(f"fixed edge {token!r}: the value must be finite and > 0")
        out.append((token, np.array([e]), value))
    return out


def fixed_edge_indices(spec: str, lattice: Lattice) -> np.ndarray:
    """Sorted unique edge indices named by ``spec`` (no values needed), shape (k,) int."""
    found = [idx for _, idx, _ in _tokens(spec, lattice)]
    return np.unique(np.concatenate(found)) if found else np.empty(0, dtype=int)


def parse_fixed_edges(spec: str, lattice: Lattice, gamma_true: np.ndarray | None
                      ) -> tuple[np.ndarray, np.ndarray] | None:
    """Mask and values of the edges ``spec`` holds fixed.

    Returns
    -------
    ``None`` for an empty specification, else ``(mask, values)``: (E,) bool and (E,) float64
    (NaN off the mask).
    """
    tokens = _tokens(spec, lattice)
    if not tokens:
        return None
    mask = np.zeros(lattice.n_edges, dtype=bool)
    values = np.full(lattice.n_edges, np.nan)
    for token, idx, value in tokens:
        if value is None:
            if gamma_true is None:
                raise ValueError(f"fixed edge {token!r} takes its true value, but the dataset has no "
                                 "gamma_true; give it as INDEX=VALUE")
            value = np.asarray(gamma_true, dtype=float)[idx]
        mask[idx] = True
        values[idx] = value
    return mask, values
