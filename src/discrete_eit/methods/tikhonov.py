"""``tikhonov``: output least squares with a Tikhonov penalty in θ = log γ (MATH.md §4, "Tikhonov").

Minimises, for a regularisation parameter α > 0,

    Φ_α(θ) = F(e^θ) + α ‖L(θ − θ₀)‖²,      F(γ) = Σ_{(i,j)∈Σ} w_ij (Λ(γ)_ij − Λ^δ_ij)²,

with F the weighted misfit of ``ols`` (same weights, same Jacobian: :class:`~.ols.OLSModel`) by
the Levenberg–Marquardt loop of ``ols`` and ``nn_fast`` (:func:`~.least_squares.minimize_log_gamma`
with a :class:`~.least_squares.QuadraticPenalty`: the penalty is one more block of the residual).
Each Φ_α is minimised to convergence (the discrepancy principle chooses α, it does not stop the
iteration).

Priors (``prior``), L dimensionless like θ:

* ``identity``: L = I (E×E), the penalty ‖θ − θ₀‖²: pulls every edge towards the reference.
* ``smooth``: L = D, the first differences over the *line graph* of the lattice: one row per
  unordered pair of distinct edges {e, f} (e < f) that share an interior node, ``(Dθ)_{ef} =
  θ_e − θ_f``; rows ordered by the shared node (global node order) then by (e, f). An interior node
  has four edges, hence six pairs (two collinear, four perpendicular), so D has 6n² rows and DᵀD is
  the line graph's Laplacian; a boundary node has one edge (its spike) and gives no row. D θ = 0 iff
  θ is constant (the lattice's line graph is connected), so the penalty does not see θ₀ and does not
  bias the level of γ, only its variation.

Reference θ₀ = log γ₀ on every edge (``reference``): by default γ₀ = the best constant fit of the
data (``OLSModel.best_constant``, one scalar least-squares solve). With a data-driven γ₀ the method
is equivariant under scaling (data c·Λ give c·γ̂, as ``ols`` and ``nn_fast`` are), which a fixed
γ₀ = 1 is not: it would pull every edge towards an arbitrary unit. θ₀ is also the start of the
largest α's solve.

Choice of α (``alpha``): a positive number (one solve from θ₀), or ``auto``: the grid
:data:`ALPHA_GRID` (10² down to 10⁻⁸, 21 values, half a decade apart) solved from the largest α
down, each solve warm-started from the previous solution, and α chosen by ``alpha_rule``:

* ``discrepancy`` (Morozov): the largest α of the grid whose solution has
  ``F(γ_α) <= τ² δ² ν``, ν = Σ w (Λ^δ)² — the level at which ``ols`` stops (for relative weights
  ν = |Σ|), so its residual norm is ``<= τ δ √ν``. The path stops at that α (the cheapest rule). It
  needs δ > 0 (the option or the dataset's); where even the grid's smallest α does not reach the
  level it takes that α and says so.
* ``gcv``: the minimiser over the grid of ``V(α) = M F(γ_α) / (M − tr A_α)²``, M = |Σ|, with the
  influence matrix of the problem linearised at the solution, ``A_α = J (JᵀJ + α LᵀL)⁻¹ Jᵀ``
  (J = ∂r/∂θ at θ_α), ``tr A_α = ‖Q₁‖²_F`` from the thin QR of ``[J; √α L] = [Q₁; Q₂] R``. It
  assumes white residual noise, which the relative weights give under the relative noise model.
* ``lcurve``: the corner of the L-curve (log ‖r_α‖, log ‖L(θ_α − θ₀)‖) — the grid point of largest
  signed Menger curvature (the circle through it and its two neighbours) turning the way the L does
  (counter-clockwise as α grows); the two end points cannot be chosen.
* ``auto``: ``discrepancy`` when δ > 0 is known and the data carry the relative noise model (or an
  unknown one), else ``gcv``.

Cost: one LM solve per grid value visited (all 21 for gcv and lcurve; down to the chosen α for
discrepancy), each warm-started, plus one forward solve per α for its misfit and penalty (and the
QR for gcv). n = 6, full data: median 0.34 s (discrepancy) to 1.3 s (gcv, lcurve), against
0.017 s for ``ols`` (benchmarks/results/tikhonov_comparison.md).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import numbers

import numpy as np

from discrete_eit.problem.datasets import Dataset
from discrete_eit.problem.lattice import Lattice
from discrete_eit.problem.metrics import dtn_residual, relative_l2_error
from discrete_eit.problem.noise import DEFAULT_NOISE_MODEL

from .least_squares import (
    HISTORY_COLUMNS,
    QuadraticPenalty,
    lm_options,
    lm_reconstruction,
    lm_settings,
    minimize_log_gamma,
)
from .ols import WEIGHTINGS, OLSModel
from .registry import Option, Reconstruction, register_method

log = logging.getLogger(__name__)

PRIORS = ("identity", "smooth")
ALPHA_RULES = ("auto", "discrepancy", "gcv", "lcurve")
ALPHA_GRID = np.logspace(2.0, -8.0, 21)
"""The α of ``alpha=auto``, largest first (the order of the warm-started path): 10², 10^1.5, …, 10⁻⁸."""
PATH_COLUMNS = ("alpha", "misfit", "penalty", "iterations", "criterion", "gamma_error")
"""Columns of ``arrays['alpha_path']``: one row per α solved. ``criterion``: F/(τ²δ²ν) for the
discrepancy rule, V(α) for gcv, the Menger curvature for lcurve (NaN at the ends), NaN for a fixed α."""


def alpha_value(text):
    """``--alpha`` text -> float, or ``"auto"``; anything else is passed on for :func:`alpha_problem`."""
    if isinstance(text, str):
        if text.strip().lower() == "auto":
            return "auto"
        try:
            return float(text)
        except ValueError:
            return text
    return text


def alpha_problem(value) -> str | None:
    """Why ``value`` is no valid ``alpha`` (a finite number > 0, or ``auto``), or None."""
    if value == "auto":
        return None
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        if not math.isfinite(value):
            return f"must be finite, got {value!r}"
        if value <= 0:
            return f"must be > 0 or auto, got {value!r}"
        return None
    return f"must be a number > 0 or auto, got {value!r}"


def smooth_operator(lattice: Lattice) -> np.ndarray:
    """(6n², E) first differences D over pairs of edges sharing an interior node (module docstring).

    Row of the pair {e, f}, e < f, at interior node v: ``+1`` at e, ``−1`` at f. Rows ordered by v
    (global node order), then lexicographically by (e, f).
    """
    edges = lattice.edges
    E = lattice.n_edges
    rows = []
    for v in range(lattice.n_boundary, lattice.n_nodes):
        incident = np.flatnonzero((edges[:, 0] == v) | (edges[:, 1] == v))
        for i, e in enumerate(incident):
            for f in incident[i + 1:]:
                rows.append((e, f))
    D = np.zeros((len(rows), E))
    idx = np.arange(len(rows))
    pairs = np.asarray(rows, dtype=np.int64).reshape(-1, 2)
    D[idx, pairs[:, 0]] = 1.0
    D[idx, pairs[:, 1]] = -1.0
    return D


def prior_operator(lattice: Lattice, prior: str) -> np.ndarray:
    """L of ``prior``: the identity (E, E) or :func:`smooth_operator` (6n², E)."""
    if prior == "identity":
        return np.eye(lattice.n_edges)
    if prior == "smooth":
        return smooth_operator(lattice)
    raise ValueError(f"tikhonov: prior must be one of {', '.join(PRIORS)}, got {prior!r}")


# ---- the rules, on the quantities along the path (pure functions: tested on linear problems) ------

def discrepancy_index(misfits: np.ndarray, level: float) -> int:
    """Index of the first (largest) α, in path order, with ``misfit <= level``; the last if none."""
    below = np.flatnonzero(np.asarray(misfits) <= level)
    return int(below[0]) if below.size else len(misfits) - 1


def gcv_scores(misfits: np.ndarray, traces: np.ndarray, m: int) -> np.ndarray:
    """``V(α) = m F / (m − tr A)²`` per α: m residuals, F the misfit, tr A the influence trace."""
    return m * np.asarray(misfits) / (m - np.asarray(traces)) ** 2


def influence_trace(J: np.ndarray, L: np.ndarray, alpha: float) -> float:
    """``tr J (JᵀJ + α LᵀL)⁻¹ Jᵀ`` = ‖Q₁‖²_F from the thin QR of ``[J; √α L]`` (J (M, E), L (P, E)).

    Stable also where JᵀJ is numerically singular (no normal equations are formed).
    """
    Q = np.linalg.qr(np.vstack([J, np.sqrt(alpha) * L]), mode="reduced")[0]
    return float(np.sum(Q[:J.shape[0]] ** 2))


def lcurve_curvatures(misfits: np.ndarray, penalties: np.ndarray) -> np.ndarray:
    """Signed Menger curvature of the L-curve at each path point (NaN at the two ends).

    Points ``(x, y) = (½ log F, ½ log P)`` (log-norms of residual and penalty), in path order
    (α decreasing). Reversed to α increasing, the L's corner turns counter-clockwise (down the
    vertical branch, then right along the flat one), which is positive here: ``κ = 2 ((b − a) ×
    (c − b)) / (|b − a| |c − b| |c − a|)`` for consecutive points a, b, c in α-increasing order.
    Penalties at rounding level (the largest α) are floored at 1e-300 before the logarithm.
    """
    x = 0.5 * np.log(np.maximum(np.asarray(misfits, float), 1e-300))[::-1]
    y = 0.5 * np.log(np.maximum(np.asarray(penalties, float), 1e-300))[::-1]
    k = np.full(x.size, np.nan)
    for i in range(1, x.size - 1):
        a, b, c = np.array([x[i - 1], y[i - 1]]), np.array([x[i], y[i]]), np.array([x[i + 1], y[i + 1]])
        u, v = b - a, c - b
        denom = np.linalg.norm(u) * np.linalg.norm(v) * np.linalg.norm(c - a)
        k[i] = 2.0 * (u[0] * v[1] - u[1] * v[0]) / denom if denom > 0 else np.nan
    return k[::-1]


def lcurve_index(misfits: np.ndarray, penalties: np.ndarray) -> int:
    """Index of the path point of largest curvature (:func:`lcurve_curvatures`)."""
    k = lcurve_curvatures(misfits, penalties)
    if not np.any(np.isfinite(k)):
        return len(misfits) // 2
    return int(np.nanargmax(k))


# ---- the method ---------------------------------------------------------------------------------

DEFAULT_TOL = 1e-8
"""Default step tolerance (in log γ) of each solve. Looser than the 1e-12 of ols and nn_fast: a
solve to rounding level ends with ~40 rejected steps (LM's ``no_progress``), which over 21 values of
α quadruples the cost (n = 6: 880 against 220 steps) and changed no chosen α nor any error in
the first four digits (wave and random, δ = 1e-4 and 1e-2)."""


def _options() -> tuple[Option, ...]:
    lm = []
    for o in lm_options("discrepancy factor τ of alpha_rule=discrepancy: the largest α with "
                        "Σ w (Λ(γ) − Λ^δ)² <= τ² δ² Σ w (Λ^δ)²"):
        if o.name == "stop":   # every Φ_α is minimised to convergence; the rule picks α
            continue
        if o.name == "tol":
            o = dataclasses.replace(o, default=DEFAULT_TOL)
        lm.append(o)
    return (
        Option("alpha", alpha_value, "auto", "regularisation parameter α > 0 of the penalty "
               "α‖L(log γ − log γ₀)‖², or auto (chosen by --alpha-rule on the grid 1e2 … 1e-8, 21 values)",
               check=alpha_problem),
        Option("alpha_rule", str, "auto", "rule choosing α when alpha=auto (auto: discrepancy if δ > 0 "
               "is known, else gcv)", choices=ALPHA_RULES),
        Option("prior", str, "smooth", "penalty operator L: identity (‖θ − θ₀‖²) or smooth (differences "
               "of log γ between edges sharing a node)", choices=PRIORS),
        Option("reference", float, None, "reference conductivity γ₀ of the penalty and start (default: "
               "the best constant fit of the data)", positive=True),
        Option("weighting", str, "relative", "residual weights: 1/|Λ^δ_ij|² (relative) or uniform",
               choices=WEIGHTINGS),
        *lm,
    )


@register_method("tikhonov", options=_options(), history_columns=HISTORY_COLUMNS)
def tikhonov(dataset: Dataset, alpha="auto", alpha_rule: str = "auto", prior: str = "smooth",
             reference: float | None = None, weighting: str = "relative", max_iterations: int | None = None,
             tol: float = DEFAULT_TOL, tau: float = 1.0, delta: float | None = None, solver: str = "auto",
             acceleration: str = "auto") -> Reconstruction:
    """Tikhonov-regularised output least squares in log γ, α by discrepancy, GCV or L-curve.

    Returns a :class:`Reconstruction` as :func:`~.least_squares.lm_reconstruction` builds it for the
    solve at the chosen α (its history, iterations, stop_reason; ``final_loss`` is Φ_α), plus
    ``arrays['alpha_path']`` (K, 6) with columns :data:`PATH_COLUMNS`; ``info`` adds alpha,
    alpha_rule (the rule applied, or ``fixed``), prior, reference (γ₀), misfit (F), residual_norm
    (√F), penalty (‖L(θ − θ₀)‖²), objective (F + α·penalty), total_iterations (over the path),
    solves, capped_solves, weighting, measured_entries, dtn_residual and alpha_path_columns.
    """
    problem = alpha_problem(alpha)
    if problem is not None:
        raise ValueError(f"tikhonov: alpha {problem}")
    if alpha_rule not in ALPHA_RULES:
        raise ValueError(f"tikhonov: alpha_rule must be one of {', '.join(ALPHA_RULES)}, got {alpha_rule!r}")
    settings = lm_settings(dataset, "tikhonov", max_iterations=max_iterations, tol=tol, tau=tau,
                           delta=delta, stop="converge", solver=solver, acceleration=acceleration)
    relative = dataset.noise_model in (None, DEFAULT_NOISE_MODEL)
    rule = "fixed" if alpha != "auto" else alpha_rule
    if rule == "auto":
        rule = "discrepancy" if settings.delta and relative else "gcv"
    if rule == "discrepancy" and not settings.delta:
        raise ValueError("tikhonov: alpha_rule=discrepancy needs a noise level delta > 0 (option --delta "
                         "or the dataset's delta)")
    if rule == "discrepancy" and not relative:
        log.warning("tikhonov: %s: alpha_rule=discrepancy with noise model %r: the level assumes the "
                    "relative model", dataset.source, dataset.noise_model)
    model = OLSModel(dataset, weighting)
    lat = model.lattice
    gamma0 = float(reference) if reference is not None else model.best_constant()
    theta_ref = np.full(lat.n_edges, np.log(gamma0))
    L = prior_operator(lat, prior)
    level = (settings.tau ** 2 * settings.delta ** 2 * model.noise_factor) if settings.delta else np.nan

    alphas = [float(alpha)] if rule == "fixed" else list(ALPHA_GRID)
    theta = theta_ref
    results, rows, traces = [], [], []
    for a in alphas:
        penalty = QuadraticPenalty(L, theta_ref, a)
        result = minimize_log_gamma(model.point, theta, model.n_residuals, settings, dataset.gamma_true,
                                    penalty)
        theta = result.theta                     # warm start of the next (smaller) α
        point = model.point(np.exp(theta))
        error = np.nan if dataset.gamma_true is None else relative_l2_error(np.exp(theta), dataset.gamma_true)
        results.append(result)
        rows.append([a, point.loss, penalty.value(theta), result.iterations, np.nan, error])
        if rule == "gcv":
            traces.append(influence_trace(point.jacobian(np.exp(theta)), L, a))
        if rule == "discrepancy" and point.loss <= level:
            break                                # the largest α at the level: no need for smaller ones
    path = np.asarray(rows, dtype=np.float64)
    if rule == "fixed":
        chosen = 0
    elif rule == "discrepancy":
        path[:, 4] = path[:, 1] / level
        chosen = discrepancy_index(path[:, 1], level)
        if path[chosen, 1] > level:
            log.warning("tikhonov: %s: no α of the grid fits the data to the discrepancy level "
                        "(misfit %.3g > %.3g at α = %g); taking that smallest α", dataset.source,
                        path[chosen, 1], level, path[chosen, 0])
    elif rule == "gcv":
        path[:, 4] = gcv_scores(path[:, 1], np.asarray(traces), model.n_residuals)
        chosen = int(np.argmin(path[:, 4]))
    else:
        path[:, 4] = lcurve_curvatures(path[:, 1], path[:, 2])
        chosen = lcurve_index(path[:, 1], path[:, 2])
    capped = sum(r.stop_reason == "max_iterations" for r in results)
    if capped and results[chosen].stop_reason != "max_iterations":   # the chosen one warns itself
        log.warning("tikhonov: %s: %d of the %d solves along the α path stopped at their cap of %d "
                    "iterations (raise --max-iterations)", dataset.source, capped, len(results),
                    settings.max_iterations)
    a, misfit, pen = path[chosen, :3]
    gamma = np.exp(results[chosen].theta)
    log.info("tikhonov: %s: α = %.3g (%s, %d solves), prior %s, γ₀ = %.4g", dataset.source, a, rule,
             len(results), prior, gamma0)
    return lm_reconstruction(results[chosen], dataset, settings, {
        "alpha": float(a), "alpha_rule": rule, "prior": prior, "reference": gamma0,
        "misfit": float(misfit), "residual_norm": float(np.sqrt(misfit)), "penalty": float(pen),
        "objective": float(misfit + a * pen), "total_iterations": int(path[:, 3].sum()),
        "solves": len(results), "capped_solves": int(capped), "weighting": weighting,
        "measured_entries": int(model.n_residuals), "dtn_residual": dtn_residual(dataset, gamma),
        "alpha_path_columns": list(PATH_COLUMNS),
    }, {"alpha_path": path})
