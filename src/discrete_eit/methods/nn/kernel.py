"""The network's whole Adam loop as one fused, single-thread CPU kernel (numba; MATH.md §4).

The same computation as the torch fast path (:mod:`.loss` + :mod:`.schedule`) — the stencil loss
with its hand-written gradient, ``torch.optim.Adam``'s update with the same formulas and operation
order, the clamp, the plateau rule with the β changes and ``min_lr`` snapping, the stop rules and
per-problem freezing — written as plain loops over preallocated float64 arrays, so that one
iteration costs a few passes over the (n+2)×(n+2)×4n grid and no allocation.

Layout (per problem b; the sample index k is the last, contiguous axis):

* ``V[b]`` (n+2, n+2, 4n): the hidden layer on the point grid of :mod:`.layout` — ``e_k`` at the
  boundary points, the Green kernel K at the interior points (``V[b, 1:-1, 1:-1] = Kg[b]``), 0 at
  the corners. K is trained in place inside V, so the stencils read it without copies.
* ``psi[b]``, ``weight[b]`` (n+2, n+2, 4n): :class:`.layout.GridData`.
* ``bnd`` (4n, 5) int64: per boundary point t its grid point (r, c), its one interior neighbour
  (r', c') and the index of the edge between them (:func:`boundary_table`).

Each problem runs its iterations to the end of a chunk before the next problem starts: the
problems share nothing, so this order gives the same numbers as a lock-step batch, keeps one
problem's arrays in cache, and makes a problem's result independent of its batch by construction.
Summation order (over k) is that of the loops, fixed: runs are bit-reproducible.

Only numba and numpy are imported here (no torch). Every function is compiled with
``cache=True``: the machine code is stored next to this file in ``__pycache__`` or, where that is
not writable (an installed, read-only package), in numba's user-wide cache directory
(``$XDG_CACHE_HOME/numba`` or ``~/.cache/numba``); ``NUMBA_CACHE_DIR`` overrides both. All
compiled functions live in this one module, because numba invalidates a cache entry only when
the source file of the function itself changes.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

#: Codes of the stop rules inside the kernel (same order as ``schedule.ADAM_STOP_RULES``).
STOP_BUDGET, STOP_MIN_STEP, STOP_FIRST_DROP = 0, 1, 2


def boundary_table(boundary_points: np.ndarray, n: int) -> np.ndarray:
    """(4n, 5) int64 rows ``(r, c, r', c', e)``: boundary point t at grid point (r, c), its interior
    neighbour (r', c') and the edge e (MATH.md order) joining them.

    Parameters
    ----------
    boundary_points : (4n, 2) grid points of the boundary nodes, :attr:`Lattice.boundary_points`.
    n : lattice size.
    """
    nh = n * (n + 1)
    out = np.empty((4 * n, 5), dtype=np.int64)
    for t, (r, c) in enumerate(boundary_points):
        if r == 0:  # north side: vertical edge gv[0, c-1] to (1, c)
            out[t] = (r, c, 1, c, nh + c - 1)
        elif r == n + 1:  # south: gv[n, c-1] to (n, c)
            out[t] = (r, c, n, c, nh + n * n + c - 1)
        elif c == 0:  # west: gh[r-1, 0] to (r, 1)
            out[t] = (r, c, r, 1, (r - 1) * (n + 1))
        else:  # east: gh[r-1, n] to (r, n)
            out[t] = (r, c, r, n, (r - 1) * (n + 1) + n)
    return out


@njit(cache=True, error_model="numpy", inline="always")
def _sum(x):
    """Σ x in a fixed order: four interleaved partial sums (len(x) = 4n is a multiple of 4).

    Four independent chains instead of one: the sum is latency-bound otherwise, and a fixed
    order (unlike a reassociating compiler) gives the same bits on every CPU.
    """
    a0 = a1 = a2 = a3 = 0.0
    for k in range(0, x.shape[0], 4):
        a0 += x[k]
        a1 += x[k + 1]
        a2 += x[k + 2]
        a3 += x[k + 3]
    return (a0 + a1) + (a2 + a3)


@njit(cache=True, error_model="numpy")
def _residual(n, gamma, V, psi, weight, bnd, G, lanes):
    """ℓ(γ, K) of one problem; fills ``G`` (n+2, n+2, 4n) with ∂ℓ/∂(LU) = 2 W R.

    ``(L V)(p) = Σ_q w_pq (V_p − V_q)`` summed east, west, south, north as in :mod:`.loss`; a
    boundary point has its one interior neighbour. The corners of ``G`` are never written
    (callers zero them once); nothing reads them. ``lanes`` (4n,) is scratch: the loss is summed
    per sample k over the points (a loop without a carried dependence, so it vectorises), then
    over k.
    """
    S = 4 * n
    nh = n * (n + 1)
    lanes[:] = 0.0
    # Direct 3-D indexing, no row views: a view costs a reference-count update per point.
    for r in range(1, n + 1):
        for c in range(1, n + 1):
            wE = gamma[(r - 1) * (n + 1) + c]
            wW = gamma[(r - 1) * (n + 1) + c - 1]
            wS = gamma[nh + r * n + c - 1]
            wN = gamma[nh + (r - 1) * n + c - 1]
            for k in range(S):
                v = V[r, c, k]
                R = (wE * (v - V[r, c + 1, k]) + wW * (v - V[r, c - 1, k]) + wS * (v - V[r + 1, c, k])
                     + wN * (v - V[r - 1, c, k])) - psi[r, c, k]
                wr = weight[r, c, k] * R
                lanes[k] += wr * R
                G[r, c, k] = 2.0 * wr
    for t in range(bnd.shape[0]):
        r, c, ri, ci = bnd[t, 0], bnd[t, 1], bnd[t, 2], bnd[t, 3]
        w = gamma[bnd[t, 4]]
        for k in range(S):
            R = w * (V[r, c, k] - V[ri, ci, k]) - psi[r, c, k]
            wr = weight[r, c, k] * R
            lanes[k] += wr * R
            G[r, c, k] = 2.0 * wr
    return _sum(lanes)


@njit(cache=True, error_model="numpy")
def _backward(n, gamma, V, G, bnd, gK, gg, pE, pS):
    """The gradients from ``G`` of :func:`_residual`: ``gK`` (n, n, 4n) = (L G)_I, and
    ``gg`` (E,) with ``∂ℓ/∂γ_e = Σ_k (G_a − G_b)(V_a − V_b)`` for edge e = (a, b), a the west /
    north end (the products of :func:`.loss.loss_and_grad`). ``pE``, ``pS`` (4n,) are scratch for
    the products of the east and south edges of a point, summed by :func:`_sum`."""
    S = 4 * n
    nh = n * (n + 1)
    for r in range(1, n + 1):
        for c in range(1, n + 1):
            eE = (r - 1) * (n + 1) + c
            eS = nh + r * n + c - 1
            wE, wW, wS, wN = gamma[eE], gamma[eE - 1], gamma[eS], gamma[eS - n]
            for k in range(S):
                g = G[r, c, k]
                dE, dS = g - G[r, c + 1, k], g - G[r + 1, c, k]
                gK[r - 1, c - 1, k] = (wE * dE + wW * (g - G[r, c - 1, k]) + wS * dS
                                       + wN * (g - G[r - 1, c, k]))
                pE[k] = dE * (V[r, c, k] - V[r, c + 1, k])
                pS[k] = dS * (V[r, c, k] - V[r + 1, c, k])
            gg[eE] = _sum(pE)
            gg[eS] = _sum(pS)
    # the edges whose west / north end is a boundary point (the east / south ones are above)
    for t in range(bnd.shape[0]):
        r, c, ri, ci = bnd[t, 0], bnd[t, 1], bnd[t, 2], bnd[t, 3]
        if r == 0 or c == 0:
            for k in range(S):
                pE[k] = (G[r, c, k] - G[ri, ci, k]) * (V[r, c, k] - V[ri, ci, k])
            gg[bnd[t, 4]] = _sum(pE)


@njit(cache=True, error_model="numpy", inline="always")
def _adam(p, g, m, v, w1, b2, w2, step_size, bc2_sqrt, eps):
    """One parameter's Adam update with ``torch.optim.Adam``'s formulas and operation order
    (``torch.lerp`` with a weight < 0.5 is ``m + w (g − m)``); ``w1 = 1 − β₁``, ``w2 = 1 − β₂``.

    Returns (p, m, v) updated.
    """
    m = m + w1 * (g - m)
    v = v * b2 + w2 * g * g
    return p - step_size * m / (math.sqrt(v) / bc2_sqrt + eps), m, v


def scratch(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The work arrays of :func:`train`: ``G`` (n+2, n+2, 4n) zeroed (its corners are never
    written), ``gK`` (n, n, 4n), ``gg`` (2n(n+1),) and ``rows`` (3, 4n) (the loss lanes and the
    edge products)."""
    S = 4 * n
    return np.zeros((n + 2, n + 2, S)), np.zeros((n, n, S)), np.zeros(2 * n * (n + 1)), np.zeros((3, S))


@njit(cache=True, error_model="numpy")
def loss_grad(n, gamma, V, psi, weight, bnd):
    """ℓ and both gradients of a batch at (γ, K) — the kernel's own loss, for tests.

    Parameters
    ----------
    gamma : (B, E); V : (B, n+2, n+2, 4n) potentials with K inside; psi, weight : (B, n+2, n+2, 4n);
    bnd : :func:`boundary_table`.

    Returns
    -------
    loss : (B,); grad_gamma : (B, E); grad_K : (B, n, n, 4n) in grid layout.
    """
    B, S = gamma.shape[0], 4 * n
    G, rows = np.zeros((n + 2, n + 2, S)), np.zeros((3, S))
    loss, gg, gK = np.empty(B), np.empty(gamma.shape), np.empty((B, n, n, S))
    for b in range(B):
        loss[b] = _residual(n, gamma[b], V[b], psi[b], weight[b], bnd, G, rows[0])
        _backward(n, gamma[b], V[b], G, bnd, gK[b], gg[b], rows[1], rows[2])
    return loss, gg, gK


@njit(cache=True, error_model="numpy")
def losses(n, gamma, V, psi, weight, bnd):
    """(B,) ℓ at the current parameters (arguments as :func:`loss_grad`)."""
    B, S = gamma.shape[0], 4 * n
    G, lanes = np.zeros((n + 2, n + 2, S)), np.zeros(S)
    out = np.empty(B)
    for b in range(B):
        out[b] = _residual(n, gamma[b], V[b], psi[b], weight[b], bnd, G, lanes)
    return out


@njit(cache=True, error_model="numpy")
def train(n, count, gamma, V, psi, weight, bnd, lower, upper,
          m_gamma, v_gamma, m_kernel, v_kernel, t, updates, lr, best, bad, drops, active,
          betas, eps, threshold, patience, factor, min_lr, stop, reset_moments,
          G, gK, gg, rows, first_loss):
    """Run up to ``count`` iterations of every active problem, in place.

    One iteration = loss and gradients at the incoming (γ, K); Adam's update of K and γ with
    ``torch.optim.Adam``'s formulas (``m ← m + (1−β₁)(g − m)``, ``v ← β₂ v + (1−β₂) g²``,
    ``p ← p − (lr/bc₁) m / (√v / √bc₂ + ε)``); γ ← clamp(γ, lower, upper); the plateau rule on
    the loss (relative threshold, patience, ``factor``, snap to ``min_lr``), the β pair
    following the number of drops (row ``min(drops, len−1)`` of ``betas``), and the stop rule.

    Parameters
    ----------
    n, count : lattice size; iterations to run (fewer for a problem whose stop rule fires).
    gamma : (B, E); V : (B, n+2, n+2, 4n) with K in its interior; psi, weight : (B, n+2, n+2, 4n);
    bnd : :func:`boundary_table`; lower, upper : (B, E) bounds of the clamp (fixed edges:
        lower = upper).
    m_gamma, v_gamma : (B, E); m_kernel, v_kernel : (B, n, n, 4n) Adam's moments.
    t : (B,) float64 Adam's step count (the exponent of the bias corrections).
    updates : (B,) int64 updates done (differs from t only after a moment reset).
    lr, best : (B,) float64; bad, drops : (B,) int64; active : (B,) bool — the plateau state.
    betas : (P, 2) float64 table of (β₁, β₂) per number of drops.
    eps, threshold, patience, factor, min_lr : Adam's ε and the plateau rule.
    stop : :data:`STOP_BUDGET`, :data:`STOP_MIN_STEP` or :data:`STOP_FIRST_DROP`.
    reset_moments : at a drop that changes the β pair, zero the moments and t (a fresh Adam).
    G, gK, gg, rows : the work arrays of :func:`scratch`.
    first_loss : (B,) output: ℓ at the parameters before the chunk (NaN for a frozen problem).
    """
    B = gamma.shape[0]
    E = gamma.shape[1]
    S = 4 * n
    last = betas.shape[0] - 1
    for b in range(B):
        first_loss[b] = np.nan
        g_b, V_b, lo_b, hi_b = gamma[b], V[b], lower[b], upper[b]
        mg, vg, mK, vK = m_gamma[b], v_gamma[b], m_kernel[b], v_kernel[b]
        for it in range(count):
            if not active[b]:
                break
            loss = _residual(n, g_b, V_b, psi[b], weight[b], bnd, G, rows[0])
            if it == 0:
                first_loss[b] = loss
            _backward(n, g_b, V_b, G, bnd, gK, gg, rows[1], rows[2])
            idx = min(drops[b], last)
            b1, b2 = betas[idx, 0], betas[idx, 1]
            t1 = t[b] + 1.0
            bc1 = 1.0 - b1 ** t1
            bc2_sqrt = math.sqrt(1.0 - b2 ** t1)
            step_size = lr[b] / bc1
            w1, w2 = 1.0 - b1, 1.0 - b2
            # Adam on K, then on γ followed by the projection clamp(γ, lower, upper)
            for i in range(n):
                for j in range(n):
                    for k in range(S):
                        V_b[i + 1, j + 1, k], mK[i, j, k], vK[i, j, k] = _adam(
                            V_b[i + 1, j + 1, k], gK[i, j, k], mK[i, j, k], vK[i, j, k], w1, b2, w2,
                            step_size, bc2_sqrt, eps)
            for e in range(E):
                x, mg[e], vg[e] = _adam(g_b[e], gg[e], mg[e], vg[e], w1, b2, w2, step_size, bc2_sqrt, eps)
                g_b[e] = min(max(x, lo_b[e]), hi_b[e])
            t[b] = t1
            updates[b] += 1
            # plateau rule (ReduceLROnPlateau: mode min, relative threshold, cooldown 0)
            if loss < best[b] * (1.0 - threshold):
                best[b] = loss
                bad[b] = 0
            else:
                bad[b] += 1
            if bad[b] > patience:
                bad[b] = 0
                cand = lr[b] * factor
                new_lr = min_lr if cand <= min_lr * (1.0 + 1e-9) else cand
                if new_lr < lr[b]:
                    lr[b] = new_lr
                    drops[b] += 1
                    nxt = min(drops[b], last)
                    if reset_moments and (betas[nxt, 0] != b1 or betas[nxt, 1] != b2):
                        mg[:] = 0.0
                        vg[:] = 0.0
                        mK[:] = 0.0
                        vK[:] = 0.0
                        t[b] = 0.0
                    if stop == STOP_FIRST_DROP:
                        active[b] = False
                elif stop == STOP_MIN_STEP:
                    active[b] = False
