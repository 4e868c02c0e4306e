"""Completion of the DtN matrix Λ from partial data (MATH.md §6).

The completion is generic in the mask: it detects which entries are missing and fills them
with three exact rules, in this order,

1. **symmetry** — Λ = Λᵀ, so an entry whose transpose is measured is known;
2. **rank rule** — for a corner of the square and a level i, let ``A_i`` be the 2i boundary nodes
   nearest that corner (NW: ``N_1..N_i, W_1..W_i``; NE: ``N_{n+1-i..n}, E_1..E_i``; and so on by
   rotation) and ``B_i`` the rest. Every path from ``A_i`` to ``B_i`` crosses the i interior nodes
   of the diagonal i+1, so ``rank Λ(A_i, B_i) = i``. For ``p ∈ A_i``, ``q ∈ B_i``,
   ``P ⊂ A_i∖{p}``, ``Q ⊂ B_i∖{q}`` with ``rank Λ(P, Q) = i``::

       Λ(p, q) = Λ(p, Q) Λ(P, Q)⁺ Λ(P, q)

   where ``⁺`` is, by the option ``completion_pinv`` (see :data:`COMPLETION_PINVS`),
   ``truncated`` (default): the pseudo-inverse truncated to its i largest singular values —
   exact on exact data and a noise filter (the noisy block has full rank; its extra singular
   values are noise), or ``plain``: the Moore–Penrose pseudo-inverse as the paper writes the
   formula (NumPy's cut-off 1e-15·σ_max, so on noisy data every singular value is inverted);
3. **zero row sums** — the diagonal entry of a row whose off-diagonal part is known.

Missing pairs are filled greedily by increasing level i (over the four corners), repeating the
sweep while it makes progress. Deciding whether ``rank Λ(P, Q) = i`` must not depend on the
(noisy, possibly ill-conditioned) numbers, so it is decided structurally: for a circular planar
network and P, Q on complementary boundary arcs, the generic rank of Λ(P, Q) is the maximal number
of vertex-disjoint paths from P to Q (Curtis–Ingerman–Morrow), computed here as a unit-capacity
maximum flow on the lattice graph.

For ``last3n`` (only the N×N block missing) the greedy order reproduces MATH.md §6 exactly:
the pair ``(N_a, N_b)``, a < b, is filled at level ``min(a, n+1-b)`` from the NW corner
(``P = W_{1..a} ∪ N_{1..a-1}``, ``Q = E ∪ S ∪ W_{a+1..n}``) or from the NE mirror; the largest
level used is n // 2.

What else it does (measured, exact data, random γ):

* ``last2n`` **is completed** (contrary to MATH.md §3: the rank rule proves that last2n determines
  Λ, hence γ; its Jacobian has full rank too), but at levels up to n, so it is badly conditioned:
  max entry error / δ ≈ 20 (n=4), 2e3 (n=6), 2e5 (n=8), against ≈ 1, 1.4, 5 for ``last3n``;
  exact-data error 1e-14 (n=4) … 3e-7 (n=12).
* ``sigma0`` (n >= 2) and ``corners`` are **not** completed: symmetry and the rank rule are not
  enough (checked exhaustively over all subsets P, Q for sigma0 at n = 2, also with arbitrary
  boundary arcs instead of corner arcs), so completing ``sigma0`` would need other (nonlinear)
  relations; ``corners`` does not determine γ at all (rank-deficient Jacobian, MATH.md §6).
  These raise ``ValueError``. ``sigma0`` at n = 1 is completed.

Noisy, non-symmetric data (MATH.md §6): when the mask is not full, every entry measured twice
(``(i, j)`` and ``(j, i)``) is replaced by the average of the two measurements, and an entry known
only through its transpose takes the transposed measurement. The completed matrix is therefore
exactly symmetric. A full mask is returned unchanged (a copy of the measured, possibly
non-symmetric matrix): nothing is averaged, so full-data methods see the data as measured.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .lattice import Lattice

__all__ = ["COMPLETION_PINVS", "complete_dtn", "corner_arc", "disjoint_paths", "is_completable"]

COMPLETION_PINVS = ("truncated", "plain")
"""Pseudo-inverses of the rank rule: ``truncated`` to rank i (ours, the default) or ``plain``
(Moore–Penrose, the paper's formula). Both are exact on exact data; they differ on noisy data."""


def corner_arc(n: int, corner: int, i: int) -> np.ndarray:
    """Boundary indices of ``A_i`` at a corner: the 2i nodes nearest that corner.

    Parameters
    ----------
    n : lattice size.
    corner : 0 = NW (between ``W_1`` and ``N_1``), 1 = NE, 2 = SE, 3 = SW.
    i : level, 1..n.

    Returns
    -------
    (2i,) int array — a contiguous circular arc of the boundary order, centred on the corner
    (e.g. NW, i = 2: ``W_2, W_1, N_1, N_2``).
    """
    if not 1 <= i <= n:
        raise ValueError(f"level i must be in 1..{n}, got {i}")
    return (corner * n - i + np.arange(2 * i)) % (4 * n)


class _PathCounter:
    """Maximal number of vertex-disjoint boundary-to-boundary paths in the lattice graph.

    Every node v is split into ``v_in -> v_out`` with capacity 1 (vertex-disjointness); each
    lattice edge {a, b} gives ``a_out -> b_in`` and ``b_out -> a_in`` with capacity 1. A super
    source feeds the nodes of P, the nodes of Q feed a super sink.
    """

    def __init__(self, lattice: Lattice) -> None:
        self.N = lattice.n_nodes
        a, b = lattice.edges.T
        v = np.arange(self.N)
        # node v_in = 2v, v_out = 2v + 1; source = 2N, sink = 2N + 1
        self.rows = np.concatenate([2 * v, 2 * a + 1, 2 * b + 1])
        self.cols = np.concatenate([2 * v + 1, 2 * b, 2 * a])
        self.cache: dict[tuple[bytes, bytes], int] = {}

    def __call__(self, P: np.ndarray, Q: np.ndarray) -> int:
        P = np.sort(np.asarray(P, dtype=np.int64))
        Q = np.sort(np.asarray(Q, dtype=np.int64))
        key = (P.tobytes(), Q.tobytes())
        if key in self.cache:
            return self.cache[key]
        if len(P) == 0 or len(Q) == 0:
            return 0
        src, snk = 2 * self.N, 2 * self.N + 1
        rows = np.concatenate([self.rows, np.full(len(P), src), 2 * Q + 1])
        cols = np.concatenate([self.cols, 2 * P, np.full(len(Q), snk)])
        import scipy.sparse as sp
        from scipy.sparse.csgraph import maximum_flow

        graph = sp.csr_matrix((np.ones(len(rows), dtype=np.int32), (rows, cols)),
                              shape=(2 * self.N + 2, 2 * self.N + 2))
        graph.sum_duplicates()
        value = int(maximum_flow(graph, src, snk).flow_value)
        self.cache[key] = value
        return value


def disjoint_paths(n: int | Lattice, P, Q) -> int:
    """Maximal number of vertex-disjoint paths between boundary node sets P and Q.

    For P, Q on complementary boundary arcs this is the generic rank of Λ(P, Q).
    """
    lattice = n if isinstance(n, Lattice) else Lattice(n)
    return _PathCounter(lattice)(np.asarray(P), np.asarray(Q))


def _pinv(M: np.ndarray, rank: int, completion_pinv: str) -> np.ndarray:
    """Pseudo-inverse of M: truncated to its ``rank`` largest singular values, or plain."""
    if completion_pinv == "plain":
        return np.linalg.pinv(M)
    U, s, Vt = np.linalg.svd(M, full_matrices=False)
    return (Vt[:rank].T / s[:rank]) @ U[:, :rank].T


def _check_pinv(completion_pinv: str) -> str:
    if completion_pinv not in COMPLETION_PINVS:
        raise ValueError(f"completion_pinv must be one of {', '.join(COMPLETION_PINVS)}, "
                         f"got {completion_pinv!r}")
    return completion_pinv


def _label(lattice: Lattice, t: int) -> str:
    return lattice.boundary_labels[t]


def _describe_missing(lattice: Lattice, known: np.ndarray, mask: np.ndarray, set_name: str | None) -> str:
    """One-line description of what could not be completed."""
    missing = np.argwhere(~known)
    pairs = sorted({(min(a, b), max(a, b)) for a, b in missing.tolist()})
    shown = ", ".join(f"Λ({_label(lattice, a)},{_label(lattice, b)})" for a, b in pairs[:6])
    more = f" and {len(pairs) - 6} more" if len(pairs) > 6 else ""
    unmeasured_cols = [t for t in range(lattice.n_boundary) if not mask[:, t].any()]
    cols = ""
    if unmeasured_cols:
        names = [_label(lattice, t) for t in unmeasured_cols]
        cols = (f"; columns {names[0]}..{names[-1]} ({len(names)} experiments) unmeasured"
                if len(names) > 3 else f"; columns {', '.join(names)} unmeasured")
    where = f" (partial set {set_name})" if set_name else ""
    return (f"cannot complete DtN data{where}: {len(pairs)} entry pair(s) are not determined by symmetry "
            f"and the rank rule, e.g. {shown}{more}{cols}")


def _complete(dtn: np.ndarray, mask: np.ndarray, n: int, structural_only: bool,
              completion_pinv: str = "truncated") -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Core greedy completion; returns (completed matrix, known mask, info)."""
    lattice = Lattice(n)
    nb = lattice.n_boundary
    # Step 1: symmetry. Average entries measured twice; take the transposed measurement where only
    # one of (i, j), (j, i) is measured.
    both = mask & mask.T
    D = np.where(both, 0.5 * (np.where(mask, dtn, 0.0) + np.where(mask, dtn, 0.0).T),
                 np.where(mask, dtn, np.where(mask.T, dtn.T, np.nan)))
    base = mask | mask.T
    known = base.copy()
    offdiag = ~np.eye(nb, dtype=bool)
    counter = _PathCounter(lattice)
    levels_used: list[int] = []
    n_rank = 0

    def try_fill(p: int, q: int, A_rest: np.ndarray, B_rest: np.ndarray, i: int) -> bool:
        """Fill Λ(p, q) with p in A_i, q in B_i; A_rest = A_i∖{p}, B_rest = B_i∖{q}."""
        P = A_rest[known[A_rest, q]]
        if len(P) < i:
            return False
        # First attempt: Q from entries of row p known before the rank rule (measured or by symmetry),
        # as MATH.md §6 does; second attempt: any known entry.
        for row_ok in (base[p, B_rest], known[p, B_rest]):
            Qc = B_rest[row_ok]
            if len(Qc) < i:
                continue
            block_known = known[np.ix_(P, Qc)]
            for Pp, Qq in ((P, Qc[block_known.all(axis=0)]), (P[block_known.all(axis=1)], Qc)):
                if len(Pp) < i or len(Qq) < i:
                    continue
                if counter(Pp, Qq) < i:
                    continue
                if not structural_only:
                    M = D[np.ix_(Pp, Qq)]
                    value = D[p, Qq] @ _pinv(M, i, completion_pinv) @ D[Pp, q]
                    D[p, q] = D[q, p] = value
                known[p, q] = known[q, p] = True
                return True
        return False

    progress = True
    while progress and not known[offdiag].all():
        progress = False
        for i in range(1, n + 1):
            for corner in range(4):
                A = corner_arc(n, corner, i)
                inA = np.zeros(nb, dtype=bool)
                inA[A] = True
                B = np.flatnonzero(~inA)
                # unknown pairs across the cut, in a deterministic order
                rows, cols = np.nonzero(~known[np.ix_(A, B)])
                for p, q in zip(A[rows].tolist(), B[cols].tolist(), strict=True):
                    if known[p, q]:
                        continue
                    if try_fill(p, q, A[A != p], B[B != q], i):
                        progress = True
                        n_rank += 1
                        levels_used.append(i)
            # restart from the lowest level after any progress, so that entries are always
            # computed at the smallest level available (best conditioned)
            if progress:
                break

    # Step 3: diagonal from zero row sums (a measured diagonal entry is kept as measured).
    for t in range(nb):
        if not known[t, t] and known[t, offdiag[t]].all():
            if not structural_only:
                D[t, t] = -np.sum(D[t, offdiag[t]])
            known[t, t] = True
    info = {"n_symmetry_filled": int((base & ~mask).sum()), "n_rank_filled": 2 * n_rank,
            "max_level": max(levels_used, default=0)}
    return D, known, info


def _unpack(data, mask, n):
    if hasattr(data, "dtn") and hasattr(data, "mask"):
        dtn, mask, n = data.dtn, data.mask, data.n
        name = getattr(data, "partial_set", None)
        return np.asarray(dtn, dtype=np.float64), np.asarray(mask, dtype=bool), int(n), name
    dtn = np.asarray(data, dtype=np.float64)
    if dtn.ndim != 2 or dtn.shape[0] != dtn.shape[1] or dtn.shape[0] % 4:
        raise ValueError(f"dtn must be a square (4n, 4n) matrix, got shape {dtn.shape}")
    mask = np.isfinite(dtn) if mask is None else np.asarray(mask, dtype=bool)
    if mask.shape != dtn.shape:
        raise ValueError(f"mask shape {mask.shape} does not match dtn shape {dtn.shape}")
    nn = dtn.shape[0] // 4
    if n is not None and int(n) != nn:
        raise ValueError(f"dtn of shape {dtn.shape} does not belong to n = {n}")
    return dtn, mask, nn, None


def complete_dtn(data, mask: np.ndarray | None = None, n: int | None = None, *,
                 set_name: str | None = None, completion_pinv: str = "truncated",
                 return_info: bool = False):
    """Complete a partially measured DtN matrix (MATH.md §6).

    Parameters
    ----------
    data : :class:`~discrete_eit.problem.datasets.Dataset` or (4n, 4n) float array
        Measured Λ^δ; unmeasured entries are ignored (NaN in a Dataset). Rows and columns in
        the boundary order of MATH.md §1; column j is the experiment with Dirichlet data e_j.
    mask : (4n, 4n) bool, optional
        True where measured. Taken from the Dataset, or ``isfinite(data)`` when omitted.
    n : int, optional
        Lattice size, checked against the shape.
    set_name : str, optional
        Name of the partial set, used in error messages (taken from ``dataset.partial_set``).
    completion_pinv : {"truncated", "plain"}
        Pseudo-inverse of the rank rule (module docstring): ``truncated`` to rank i (default;
        filters noise) or ``plain`` Moore–Penrose (the paper's formula).
    return_info : bool
        Also return a dict ``{"completion": "none"|"rank-rule", "completion_pinv",
        "n_symmetry_filled", "n_rank_filled", "max_level"}``.

    Returns
    -------
    (4n, 4n) float64 — the completed Λ. For a full mask a copy of the data as measured; otherwise
    exactly symmetric (entries measured twice averaged, see the module docstring), with every
    entry filled by symmetry, the rank rule or zero row sums.

    Raises
    ------
    ValueError
        One line naming the partial set and the missing entries when the mask does not determine
        Λ by these rules (e.g. ``sigma0`` or ``corners`` for n ≥ 2).
    """
    _check_pinv(completion_pinv)
    dtn, mask, n, name = _unpack(data, mask, n)
    set_name = set_name or name
    if mask.all():
        out = dtn.copy()
        info = {"completion": "none", "completion_pinv": completion_pinv, "n_symmetry_filled": 0,
                "n_rank_filled": 0, "max_level": 0}
        return (out, info) if return_info else out
    D, known, info = _complete(dtn, mask, n, structural_only=False, completion_pinv=completion_pinv)
    if not known.all():
        raise ValueError(_describe_missing(Lattice(n), known, mask, set_name))
    info = {"completion": "rank-rule", "completion_pinv": completion_pinv, **info}
    return (D, info) if return_info else D


def is_completable(mask: np.ndarray) -> bool:
    """Whether :func:`complete_dtn` can complete data on this (4n, 4n) bool mask (no numbers used)."""
    mask = np.asarray(mask, dtype=bool)
    if mask.all():
        return True
    n = mask.shape[0] // 4
    _, known, _ = _complete(np.zeros(mask.shape), mask, n, structural_only=True)
    return bool(known.all())
