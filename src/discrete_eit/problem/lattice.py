"""The n×n square resistor network: nodes, edges and their orderings (MATH.md §1).

Conventions (the contract every other module relies on)
-------------------------------------------------------
* Points ``(r, c)`` with ``0 <= r, c <= n+1``, corners removed; ``r`` grows downward.
* Boundary order (rows/columns of every DtN matrix), clockwise from the top-left:
  ``N_1..N_n, E_1..E_n, S_n..S_1, W_n..W_1``;
  ``N_j -> j-1``, ``E_i -> n+i-1``, ``S_j -> 3n-j``, ``W_i -> 4n-i``.
* Global node order: the 4n boundary nodes, then the interior row-major,
  ``(r, c) -> 4n + (r-1) n + (c-1)``.
* Edge order: ``gamma = concat(gh.ravel(), gv.ravel())`` with ``gh[r-1, c]`` the edge
  ``(r,c)-(r,c+1)`` (shape n×(n+1)) and ``gv[r, c-1]`` the edge ``(r,c)-(r+1,c)``
  (shape (n+1)×n).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np


@dataclass(frozen=True)
class Lattice:
    """Index bookkeeping for the n×n lattice. Immutable and cheap; arrays are cached."""

    n: int

    def __post_init__(self) -> None:
        if isinstance(self.n, bool) or not isinstance(self.n, (int, np.integer)):
            raise TypeError(f"lattice size n must be an integer, got {self.n!r}")
        if self.n < 1:
            raise ValueError(f"lattice size n must be >= 1, got {self.n}")
        object.__setattr__(self, "n", int(self.n))

    # ---- sizes -------------------------------------------------------------------------
    @property
    def n_boundary(self) -> int:
        """Number of boundary nodes, 4n."""
        return 4 * self.n

    @property
    def n_interior(self) -> int:
        """Number of interior nodes, n²."""
        return self.n * self.n

    @property
    def n_nodes(self) -> int:
        return self.n_boundary + self.n_interior

    @property
    def n_edges(self) -> int:
        """Number of edges (unknown conductivities), 2n(n+1)."""
        return 2 * self.n * (self.n + 1)

    @property
    def n_horizontal(self) -> int:
        return self.n * (self.n + 1)

    # ---- node indices ------------------------------------------------------------------
    def north(self, j: int) -> int:
        """Boundary index of ``N_j = (0, j)``, j = 1..n."""
        return j - 1

    def east(self, i: int) -> int:
        """Boundary index of ``E_i = (i, n+1)``, i = 1..n."""
        return self.n + i - 1

    def south(self, j: int) -> int:
        """Boundary index of ``S_j = (n+1, j)``, j = 1..n."""
        return 3 * self.n - j

    def west(self, i: int) -> int:
        """Boundary index of ``W_i = (i, 0)``, i = 1..n."""
        return 4 * self.n - i

    def node(self, r: int, c: int) -> int:
        """Global index of point ``(r, c)``; raises for the four removed corners."""
        n = self.n
        if not (0 <= r <= n + 1 and 0 <= c <= n + 1):
            raise IndexError(f"point ({r}, {c}) outside the {n}x{n} lattice")
        if r == 0 and 1 <= c <= n:
            return self.north(c)
        if c == n + 1 and 1 <= r <= n:
            return self.east(r)
        if r == n + 1 and 1 <= c <= n:
            return self.south(c)
        if c == 0 and 1 <= r <= n:
            return self.west(r)
        if 1 <= r <= n and 1 <= c <= n:
            return 4 * n + (r - 1) * n + (c - 1)
        raise IndexError(f"point ({r}, {c}) is a removed corner")

    @cached_property
    def boundary_points(self) -> np.ndarray:
        """(4n, 2) int array: the (r, c) point of each boundary index."""
        n = self.n
        pts = np.empty((4 * n, 2), dtype=np.int64)
        for j in range(1, n + 1):
            pts[self.north(j)] = (0, j)
            pts[self.south(j)] = (n + 1, j)
            pts[self.east(j)] = (j, n + 1)
            pts[self.west(j)] = (j, 0)
        return pts

    @cached_property
    def boundary_labels(self) -> list[str]:
        """Human-readable labels ``N1 .. W1`` in boundary order."""
        n = self.n
        return ([f"N{j}" for j in range(1, n + 1)] + [f"E{i}" for i in range(1, n + 1)]
                + [f"S{j}" for j in range(n, 0, -1)] + [f"W{i}" for i in range(n, 0, -1)])

    # ---- edges -------------------------------------------------------------------------
    @cached_property
    def edges(self) -> np.ndarray:
        """(2n(n+1), 2) int array of global node indices ``(a, b)`` in γ order.

        Horizontal edges ``(r,c)-(r,c+1)`` first (a = left node), then vertical edges
        ``(r,c)-(r+1,c)`` (a = upper node).
        """
        n = self.n
        out = [(self.node(r, c), self.node(r, c + 1)) for r in range(1, n + 1) for c in range(n + 1)]
        out += [(self.node(r, c), self.node(r + 1, c)) for r in range(n + 1) for c in range(1, n + 1)]
        return np.asarray(out, dtype=np.int64)

    @cached_property
    def edge_midpoints(self) -> np.ndarray:
        """(2n(n+1), 2) float array: (row, column) of each edge's midpoint, for plotting."""
        n = self.n
        mh = [(r, c + 0.5) for r in range(1, n + 1) for c in range(n + 1)]
        mv = [(r + 0.5, c) for r in range(n + 1) for c in range(1, n + 1)]
        return np.asarray(mh + mv, dtype=float)

    @cached_property
    def spike_edges(self) -> np.ndarray:
        """(4n,) int array: the edge index of the single edge at each boundary node."""
        n = self.n
        spikes = np.empty(4 * n, dtype=np.int64)
        for j in range(1, n + 1):
            spikes[self.north(j)] = self.vertical_index(0, j - 1)
            spikes[self.south(j)] = self.vertical_index(n, j - 1)
            spikes[self.west(j)] = self.horizontal_index(j - 1, 0)
            spikes[self.east(j)] = self.horizontal_index(j - 1, n)
        return spikes

    def horizontal_index(self, i: int, j: int) -> int:
        """Position in γ of ``gh[i, j]``."""
        return i * (self.n + 1) + j

    def vertical_index(self, i: int, j: int) -> int:
        """Position in γ of ``gv[i, j]``."""
        return self.n_horizontal + i * self.n + j

    @cached_property
    def boundary_ring(self) -> np.ndarray:
        """(2n(n+1),) bool: edges touching the outer ring of interior nodes or the boundary.

        An edge belongs to the ring when one of its endpoints is a boundary node or an
        interior node with ``r`` or ``c`` in ``{1, n}``; the rest is the *centre* (MATH.md §8).
        """
        n = self.n
        pts = self.node_points
        rc = pts[self.edges]  # (E, 2 endpoints, 2 coords)
        ring = (rc <= 1) | (rc >= n)
        return ring.any(axis=(1, 2))

    @cached_property
    def node_points(self) -> np.ndarray:
        """(n_nodes, 2) int array: (r, c) of every global node index."""
        n = self.n
        interior = np.array([(r, c) for r in range(1, n + 1) for c in range(1, n + 1)],
                            dtype=np.int64).reshape(-1, 2)
        return np.vstack([self.boundary_points, interior])

    # ---- γ <-> (gh, gv) ----------------------------------------------------------------
    def split(self, gamma: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Views ``(gh, gv)`` of shapes n×(n+1) and (n+1)×n of a γ vector (last axis)."""
        gamma = np.asarray(gamma)
        if gamma.shape[-1] != self.n_edges:
            raise ValueError(f"gamma has {gamma.shape[-1]} entries, expected 2n(n+1) = {self.n_edges}")
        lead = gamma.shape[:-1]
        gh = gamma[..., : self.n_horizontal].reshape(*lead, self.n, self.n + 1)
        gv = gamma[..., self.n_horizontal:].reshape(*lead, self.n + 1, self.n)
        return gh, gv

    def join(self, gh: np.ndarray, gv: np.ndarray) -> np.ndarray:
        """γ vector from ``gh`` (n×(n+1)) and ``gv`` ((n+1)×n)."""
        gh, gv = np.asarray(gh), np.asarray(gv)
        if gh.shape[-2:] != (self.n, self.n + 1) or gv.shape[-2:] != (self.n + 1, self.n):
            raise ValueError(f"expected gh {(self.n, self.n + 1)} and gv {(self.n + 1, self.n)}, "
                             f"got {gh.shape} and {gv.shape}")
        lead = gh.shape[:-2]
        return np.concatenate([gh.reshape(*lead, -1), gv.reshape(*lead, -1)], axis=-1)

    # ---- symmetries (MATH.md §2) -------------------------------------------------------
    @cached_property
    def rotation_permutation(self) -> np.ndarray:
        """Boundary permutation of the 180° rotation: ``t -> t + 2n mod 4n``."""
        return (np.arange(4 * self.n) + 2 * self.n) % (4 * self.n)

    def rotate_gamma(self, gamma: np.ndarray) -> np.ndarray:
        """γ of the 180°-rotated network."""
        gh, gv = self.split(gamma)
        return self.join(gh[..., ::-1, ::-1], gv[..., ::-1, ::-1])

    @cached_property
    def transpose_permutation(self) -> np.ndarray:
        """Boundary permutation of the transpose ``(r, c) -> (c, r)``: ``N_j <-> W_j``, ``E_i <-> S_i``."""
        perm = np.empty(4 * self.n, dtype=np.int64)
        for j in range(1, self.n + 1):
            perm[self.north(j)] = self.west(j)
            perm[self.west(j)] = self.north(j)
            perm[self.east(j)] = self.south(j)
            perm[self.south(j)] = self.east(j)
        return perm

    def transpose_gamma(self, gamma: np.ndarray) -> np.ndarray:
        """γ of the transposed network: ``(gh, gv) -> (gvᵀ, ghᵀ)``."""
        gh, gv = self.split(gamma)
        return self.join(np.swapaxes(gv, -1, -2), np.swapaxes(gh, -1, -2))
