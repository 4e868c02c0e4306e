"""Curtis–Morrow layer peeling: γ from the DtN matrix by algebra alone (MATH.md §5).

Conventions (MATH.md §1): Λ is (4n, 4n) in the boundary order ``N_1..N_n, E_1..E_n, S_n..S_1,
W_n..W_1``; ``(Λ f)(b)`` is the current flowing from b into the network; ``gh[r-1, c]`` is the
horizontal edge ``(r,c)-(r,c+1)``, ``gv[r, c-1]`` the vertical edge ``(r,c)-(r+1,c)``.

Layer k (k = 1..n) of the top-left corner is the chain of 2k edges between the diagonals
``r + c = k`` and ``k + 1``::

    p_0 = N_k -a_0- q_0 -b_0- p_1 -a_1- q_1 - ... - q_{k-1} -b_{k-1}- p_k = W_k

with ``p_m = (m, k-m)``, ``q_m = (m+1, k-m)``, ``a_m = gv[m, k-m-1]``, ``b_m = gh[m, k-m-1]``.
Chain position s = 2m holds a_m, s = 2m + 1 holds b_m. Layers 1..k-1 are known when layer k is
peeled; layers of the bottom-right corner are peeled the same way on the 180°-rotated network.

Variants
--------
* ``one-sided`` (classical): the special potential is normalised at ``N_k`` and the chain is
  walked from the N end to the W end. Errors grow along the walk, so it fails near n = 12.
* ``two-sided`` (default): positions s < k come from the N-normalised walk, positions s >= k from
  the same construction on the transposed lattice (normalised at ``W_k``, walked from the W end).
  Each walk only goes half way, which is much more stable.

Solves for the special potential's free values ``x = u(W_1..W_k)``
-------------------------------------------------------------------
* ``pinv`` (default, the paper's pseudoinverse variant): all 4n - 2k zero-flux nodes
  ``Z_k = {N_{k+1..n}, E, S, W_{k+1..n}}`` — a least-squares solve, exact on exact data;
* ``square``: only ``Z = E_{1..k}`` (k×k, nonsingular for positive γ).

Noisy data: the algorithm is unstable (the centre blows up). It never raises on noisy data:
divisions by (near) zero are carried out in IEEE arithmetic (``inf``/``nan`` may appear, and then
propagate to later layers); the returned ``info`` counts non-finite and non-positive edges and
carries a ``warning`` string. Non-positive conductivities are returned as computed.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from discrete_eit.problem.completion import COMPLETION_PINVS, complete_dtn, is_completable
from discrete_eit.problem.datasets import Dataset
from discrete_eit.problem.lattice import Lattice

from .registry import Option, Reconstruction, register_method

__all__ = ["curtis_morrow", "curtis_morrow_dtn", "layer_chain"]

VARIANTS = ("two-sided", "one-sided")
SOLVES = ("pinv", "square")


def _solve_special_potential(dtn: np.ndarray, k: int, solve: str) -> np.ndarray:
    """Free values ``x = u(W_1..W_k)`` of the special potential of layer k, shape (k,).

    Potential and current vanish at every node of ``Z``, so ``Λ(Z, W_{1..k}) x = −Λ(Z, N_k)``.
    """
    n = dtn.shape[0] // 4
    w = 4 * n - np.arange(1, k + 1)                  # W_1..W_k
    # Z_k = N_{k+1..n}, E, S, W_{k+1..n} is the contiguous index range k .. 4n-k-1.
    z = np.arange(n, n + k) if solve == "square" else np.arange(k, 4 * n - k)
    A = dtn[np.ix_(z, w)]
    rhs = -dtn[z, k - 1]
    if not (np.all(np.isfinite(A)) and np.all(np.isfinite(rhs))):
        return np.full(k, np.nan)
    if solve == "square":
        try:
            return np.linalg.solve(A, rhs)
        except np.linalg.LinAlgError:
            pass  # exactly singular (only with degenerate data): fall back to least squares
    return np.linalg.lstsq(A, rhs, rcond=None)[0]


def layer_chain(dtn: np.ndarray, gh: np.ndarray, gv: np.ndarray, k: int, solve: str = "pinv"
                ) -> tuple[np.ndarray, float]:
    """One-sided Curtis–Morrow walk for layer k of the top-left corner.

    Parameters
    ----------
    dtn : (4n, 4n) float — Λ in boundary order (complete).
    gh, gv : (n, n+1), (n+1, n) float — conductivities; only layers 1..k-1 are read.
    k : layer, 1..n.
    solve : ``"pinv"`` or ``"square"`` (see module docstring).

    Returns
    -------
    chain : (2k,) float — ``[a_0, b_0, a_1, b_1, ..., a_{k-1}, b_{k-1}]`` walked from ``N_k``.
    residual : float — consistency check ``|−I_{k−1} − J(W_k)| / max(|J(W_k)|, tiny)``
        (0 up to rounding on exact data).
    """
    n = dtn.shape[0] // 4
    x = _solve_special_potential(dtn, k, solve)
    # Boundary potential f: 1 at N_k, x_i at W_i, 0 elsewhere; J = Λ f are the boundary currents.
    f = np.zeros(4 * n)
    f[k - 1] = 1.0
    f[4 * n - np.arange(1, k + 1)] = x
    J = dtn @ f
    # u[r, c] for r + c <= k: the special potential on the triangle next to the NW corner.
    # Row 0 holds f(N_c) (u(0,k) = 1), column 0 holds u(r, 0) = x_r.
    u = np.zeros((k + 1, k + 1))
    u[0, k] = 1.0
    u[1:, 0] = x
    if k >= 2:
        # Row 1 from the spikes: J(N_j) = gv[0,j-1] (f(N_j) - u(1,j)), with f(N_j) = 0 for j < k.
        j = np.arange(1, k)
        u[1, j] = -J[j - 1] / gv[0, j - 1]
    # March down with Kirchhoff's law at (r, c): the current leaving through the down edge balances
    # the currents through the up, left and right edges (all from earlier layers).
    for r in range(1, k - 1):
        c = np.arange(1, k - r)
        num = (gv[r - 1, c - 1] * (u[r, c] - u[r - 1, c])
               + gh[r - 1, c - 1] * (u[r, c] - u[r, c - 1])
               + gh[r - 1, c] * (u[r, c] - u[r, c + 1]))
        u[r + 1, c] = u[r, c] + num / gv[r, c - 1]
    # Walk the chain. I_m is the current through a_m from p_m into q_m (u(q_m) = 0), which leaves
    # q_m through b_m towards p_{m+1}; Kirchhoff at p_{m+1} gives I_{m+1}.
    chain = np.empty(2 * k)
    current = J[k - 1]                               # I_0 = J(N_k)
    for m in range(k):
        u_p, u_next = u[m, k - m], u[m + 1, k - m - 1]
        chain[2 * m] = current / u_p                 # γ(a_m) = I_m / u(p_m)
        chain[2 * m + 1] = -current / u_next         # γ(b_m) = −I_m / u(p_{m+1})
        if m + 1 <= k - 1:
            r, c = m + 1, k - m - 1                  # p_{m+1}; its up/left neighbours lie on diagonal k−1
            current = current - (gv[r - 1, c - 1] * (u_next - u[r - 1, c])
                                 + gh[r - 1, c - 1] * (u_next - u[r, c - 1]))
    jw = J[4 * n - k]                                # J(W_k)
    residual = abs(-current - jw) / max(abs(jw), np.finfo(float).tiny)
    return chain, float(residual)


def _write_chain(gh: np.ndarray, gv: np.ndarray, k: int, chain: np.ndarray) -> None:
    m = np.arange(k)
    gv[m, k - m - 1] = chain[0::2]
    gh[m, k - m - 1] = chain[1::2]


def _peel_corner(dtn: np.ndarray, gh: np.ndarray, gv: np.ndarray, variant: str, solve: str) -> list[float]:
    """Peel layers 1..n of the top-left corner, writing into ``gh``/``gv`` (which may be views)."""
    n = dtn.shape[0] // 4
    tp = Lattice(n).transpose_permutation
    dtn_t = dtn[np.ix_(tp, tp)]
    residuals = []
    for k in range(1, n + 1):
        chain, res = layer_chain(dtn, gh, gv, k, solve)
        if variant == "two-sided":
            # The transposed network (gh, gv) -> (gvᵀ, ghᵀ) has the same layer k with the chain
            # reversed: its position s' is our position 2k-1-s. Keep the half nearest each end.
            chain_w = layer_chain(dtn_t, gv.T, gh.T, k, solve)[0][::-1]
            # Check where the halves meet: both walks give positions k-1 and k; they agree
            # on exact data (the end-to-end check of one walk is meaningless here, it is what
            # the two-sided variant avoids).
            meet = slice(k - 1, k + 1)
            res = float(np.max(np.abs(chain[meet] - chain_w[meet])
                               / np.maximum(np.abs(chain_w[meet]), np.finfo(float).tiny)))
            chain = np.concatenate([chain[:k], chain_w[k:]])
        residuals.append(res)
        _write_chain(gh, gv, k, chain)
    return residuals


def curtis_morrow_dtn(dtn: np.ndarray, variant: str = "two-sided", solve: str = "pinv"
                      ) -> tuple[np.ndarray, dict[str, Any]]:
    """Curtis–Morrow reconstruction from a complete DtN matrix.

    Parameters
    ----------
    dtn : (4n, 4n) float — complete Λ (may be noisy and non-symmetric).
    variant : ``"two-sided"`` (default) or ``"one-sided"``.
    solve : ``"pinv"`` (default, overdetermined with all of ``Z_k``) or ``"square"``.

    Returns
    -------
    gamma : (2n(n+1),) float — conductivities in MATH.md edge order; may contain non-positive or
        non-finite values on noisy data (never raises for that).
    info : dict — ``variant``, ``solve``, ``consistency_residual_max`` (max over the layers of a
        relative check that vanishes on exact data: one-sided, the end-of-walk check
        ``|−I_{k−1} − J(W_k)|/|J(W_k)|``; two-sided, the mismatch of the N- and W-walks at the
        positions k−1, k where they meet), ``n_nonfinite``, ``n_nonpositive`` and, when one of
        these is nonzero, a ``warning`` string.
    """
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    if solve not in SOLVES:
        raise ValueError(f"solve must be one of {SOLVES}, got {solve!r}")
    dtn = np.asarray(dtn, dtype=np.float64)
    if dtn.ndim != 2 or dtn.shape[0] != dtn.shape[1] or dtn.shape[0] % 4 or dtn.shape[0] == 0:
        raise ValueError(f"dtn must be a (4n, 4n) matrix, got shape {dtn.shape}")
    if not np.all(np.isfinite(dtn)):
        raise ValueError("dtn must be complete and finite (complete partial data first)")
    lattice = Lattice(dtn.shape[0] // 4)
    n = lattice.n
    gh = np.full((n, n + 1), np.nan)
    gv = np.full((n + 1, n), np.nan)
    rot = lattice.rotation_permutation
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        # Top-left half, then the bottom-right half as the top-left half of the rotated network:
        # its DtN matrix is Λ[π][:, π] and its (gh, gv) are 180°-rotated views of ours.
        res = _peel_corner(dtn, gh, gv, variant, solve)
        res += _peel_corner(dtn[np.ix_(rot, rot)], gh[::-1, ::-1], gv[::-1, ::-1], variant, solve)
    gamma = lattice.join(gh, gv)
    res_arr = np.asarray(res)
    n_nonfinite = int(np.sum(~np.isfinite(gamma)))
    n_nonpositive = int(np.sum(gamma <= 0))
    info: dict[str, Any] = {
        "variant": variant, "solve": solve,
        "consistency_residual_max": float(np.nanmax(res_arr)) if np.isfinite(res_arr).any() else float("nan"),
        "n_nonfinite": n_nonfinite, "n_nonpositive": n_nonpositive,
    }
    if n_nonfinite or n_nonpositive:
        info["warning"] = (f"Curtis-Morrow produced {n_nonfinite} non-finite and {n_nonpositive} "
                           f"non-positive conductivities (unstable on noisy data)")
    return gamma, info


@register_method("cm", options=(
    Option("variant", str, "two-sided",
           "two-sided (walk each layer from both ends; stable) or one-sided (classical)",
           choices=VARIANTS),
    Option("solve", str, "pinv",
           "pinv: least squares over all zero-flux nodes Z_k; square: only E_1..E_k",
           choices=SOLVES),
    Option("completion_pinv", str, "truncated",
           "pseudo-inverse of the completion's rank rule (partial data): truncated to rank i "
           "(filters noise) or plain Moore–Penrose (the paper's formula)",
           choices=COMPLETION_PINVS),
), applies=is_completable)
def curtis_morrow(dataset: Dataset, variant: str = "two-sided", solve: str = "pinv",
                  completion_pinv: str = "truncated") -> Reconstruction:
    """Curtis–Morrow layer peeling (algebraic inversion; partial data are completed first)."""
    dtn, cinfo = complete_dtn(dataset, completion_pinv=completion_pinv, return_info=True)
    gamma, info = curtis_morrow_dtn(dtn, variant=variant, solve=solve)
    info = {**info, **cinfo}
    return Reconstruction(gamma=gamma, arrays={"dtn_completed": dtn}, info=info)
