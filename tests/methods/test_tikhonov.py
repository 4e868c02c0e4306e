"""Tests of Tikhonov-regularised output least squares (``tikhonov``) and its α rules.

The Levenberg–Marquardt loop it shares with ``ols`` and ``nn_fast``: test_levenberg_marquardt.py;
those methods' numbers, unchanged by the penalty block: tests/problem/test_golden_numerics.py.
"""

from __future__ import annotations

import dataclasses
import logging

import numpy as np
import pytest

from discrete_eit import Lattice, conductivity_profile, generate_dataset
from discrete_eit.methods.least_squares import (
    QuadraticPenalty,
    lm_settings,
    log_gamma_objective,
    minimize_log_gamma,
)
from discrete_eit.methods.ols import OLSModel
from discrete_eit.methods.registry import OptionError, get_method, reconstruct
from discrete_eit.methods.tikhonov import (
    ALPHA_GRID,
    PATH_COLUMNS,
    alpha_value,
    discrepancy_index,
    gcv_scores,
    influence_trace,
    lcurve_curvatures,
    lcurve_index,
    smooth_operator,
    tikhonov,
)

# ---- the smooth prior ---------------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 3])
def test_smooth_operator(n):
    lat = Lattice(n)
    D = smooth_operator(lat)
    assert D.shape == (6 * n * n, lat.n_edges)
    np.testing.assert_array_equal(np.sort(D, axis=1)[:, [0, -1]], np.tile([-1.0, 1.0], (D.shape[0], 1)))
    assert np.count_nonzero(D) == 2 * D.shape[0]
    np.testing.assert_array_equal(D @ np.full(lat.n_edges, 0.37), 0.0)   # constants: no penalty
    assert np.linalg.matrix_rank(D) == lat.n_edges - 1                   # and only constants
    # every row pairs two distinct edges through one common interior node
    for row in D:
        e, f = np.flatnonzero(row == 1)[0], np.flatnonzero(row == -1)[0]
        assert e < f
        common = set(lat.edges[e]) & set(lat.edges[f])
        assert len(common) == 1 and common.pop() >= lat.n_boundary


# ---- the penalised objective --------------------------------------------------------------------


@pytest.mark.parametrize("svd", [False, True])
def test_penalised_gradient_and_jacobian(svd):
    """∇Φ = 2 Jᵀr (augmented) matches central differences of Φ = F + α‖L(θ − θ₀)‖²; both step
    solvers linearise the same augmented residual."""
    n, alpha = 3, 0.3
    d = generate_dataset(conductivity_profile("wave", n), n, delta=1e-2, seed=0)
    model = OLSModel(d)
    L = np.vstack([smooth_operator(d.lattice), 0.5 * np.eye(d.lattice.n_edges)])   # both priors
    ref = np.full(d.lattice.n_edges, np.log(0.8))
    penalty = QuadraticPenalty(L, ref, alpha)
    evaluate = log_gamma_objective(model.point, svd, 1e-2, penalty)
    theta = np.log(d.gamma_true) + 0.2 * np.random.default_rng(1).standard_normal(ref.size)
    ev = evaluate(theta)
    point = model.point(np.exp(theta))
    assert ev.loss == pytest.approx(point.loss + alpha * penalty.value(theta), rel=1e-14)
    assert ev.target == pytest.approx(1e-4 * model.noise_factor)      # the misfit's level, not Φ's
    h = 1e-6
    fd = np.array([(evaluate(theta + h * e).loss - evaluate(theta - h * e).loss) / (2 * h)
                   for e in np.eye(ref.size)])
    lin = ev.linearize()
    np.testing.assert_allclose(2 * lin.gradient, fd, rtol=1e-6, atol=1e-9 * np.abs(fd).max())
    J = np.vstack([point.jacobian(np.exp(theta)), np.sqrt(alpha) * L])
    r = np.concatenate([point.residual(), np.sqrt(alpha) * L @ (theta - ref)])
    np.testing.assert_allclose(ev.residual(), r, rtol=1e-13)
    step = lin.step(1e-3)
    np.testing.assert_allclose(step, -np.linalg.solve(J.T @ J + 1e-3 * np.eye(ref.size), J.T @ r),
                               rtol=1e-8)


def test_zero_penalty_changes_nothing():
    """α = 0 on the normal-equations path is the plain misfit bit for bit (x + 0.0 = x)."""
    d = generate_dataset(conductivity_profile("wave", 4), 4, delta=1e-3, seed=2)
    model = OLSModel(d)
    settings = lm_settings(d, "ols", max_iterations=None, tol=1e-12, tau=1.0, delta=None, stop="auto",
                           solver="normal", acceleration="auto")
    theta0 = np.full(d.lattice.n_edges, np.log(model.best_constant()))
    plain = minimize_log_gamma(model.point, theta0, model.n_residuals, settings, d.gamma_true)
    zero = minimize_log_gamma(model.point, theta0, model.n_residuals, settings, d.gamma_true,
                              QuadraticPenalty(np.eye(theta0.size), theta0, 0.0))
    np.testing.assert_array_equal(plain.theta, zero.theta)
    np.testing.assert_array_equal(plain.history, zero.history)


# ---- the method ---------------------------------------------------------------------------------


@pytest.mark.parametrize("prior", ["identity", "smooth"])
def test_exact_data_small_alpha_recovers_gamma(prior, rel_err):
    n = 4
    gamma = conductivity_profile("wave", n)
    rec = tikhonov(generate_dataset(gamma, n), alpha=1e-10, prior=prior, tol=1e-12)
    assert rec.info["alpha_rule"] == "fixed" and rec.info["solves"] == 1
    assert rec.arrays["alpha_path"].shape == (1, len(PATH_COLUMNS))
    assert rel_err(rec.gamma, gamma) <= 1e-8, rec.info


def test_discrepancy_rule():
    """The largest α of the grid with F <= τ²δ²|Σ|: the next larger α misses the level, F falls
    monotonically along the path (α decreasing) and the path stops at the chosen α."""
    n, delta = 4, 1e-2
    d = generate_dataset(conductivity_profile("wave", n), n, delta=delta, seed=0)
    rec = reconstruct("tikhonov", d, prior="identity")
    info, path = rec.info, rec.arrays["alpha_path"]
    assert info["alpha_rule"] == "discrepancy" and info["prior"] == "identity"
    level = delta ** 2 * (4 * n) ** 2                              # relative weights: ν = |Σ|
    assert info["discrepancy_level"] == pytest.approx(level)
    np.testing.assert_allclose(path[:, 0], ALPHA_GRID[:len(path)])
    assert info["alpha"] == path[-1, 0] and info["misfit"] == path[-1, 1] <= level < path[-2, 1]
    assert np.all(np.diff(path[:, 1]) <= 1e-12 * level)            # misfit monotone in α
    assert np.all(np.diff(path[:, 2]) >= 0)                        # penalty the other way
    assert info["residual_norm"] == pytest.approx(np.sqrt(info["misfit"]))
    assert info["objective"] == pytest.approx(info["misfit"] + info["alpha"] * info["penalty"])
    assert info["total_iterations"] == path[:, 3].sum() >= info["iterations"]
    np.testing.assert_allclose(path[:, 4], path[:, 1] / level)
    assert info["relative_error"] == pytest.approx(path[-1, 5])
    # a larger τ accepts a larger misfit: an α at least as large
    assert reconstruct("tikhonov", d, prior="identity", tau=3.0).info["alpha"] >= info["alpha"]


def test_discrepancy_needs_delta_and_auto_falls_back_to_gcv():
    n = 3
    exact = generate_dataset(conductivity_profile("wave", n), n)
    with pytest.raises(ValueError, match="alpha_rule=discrepancy needs a noise level delta"):
        tikhonov(exact, alpha_rule="discrepancy")
    rec = tikhonov(exact)                         # δ = 0: auto -> gcv over the whole grid
    assert rec.info["alpha_rule"] == "gcv" and rec.arrays["alpha_path"].shape == (ALPHA_GRID.size, 6)
    assert np.argmin(rec.arrays["alpha_path"][:, 4]) == list(ALPHA_GRID).index(rec.info["alpha"])
    curv = tikhonov(exact, alpha_rule="lcurve", delta=1e-3).arrays["alpha_path"][:, 4]
    assert np.isnan(curv[[0, -1]]).all() and np.isfinite(curv[1:-1]).all()


def test_scale_equivariance():
    """Data c·Λ give c·γ̂ (the default reference is the best constant fit; the penalty sees log γ
    relative to it)."""
    n, c = 3, 7.5
    d = generate_dataset(conductivity_profile("wave", n), n, delta=1e-2, seed=4)
    scaled = dataclasses.replace(d, dtn=c * d.dtn, gamma_true=c * d.gamma_true)
    for prior in ("identity", "smooth"):
        a, b = tikhonov(d, prior=prior), tikhonov(scaled, prior=prior)
        assert a.info["alpha"] == b.info["alpha"]
        np.testing.assert_allclose(b.gamma, c * a.gamma, rtol=1e-7)


def test_cap_is_reported(caplog):
    d = generate_dataset(conductivity_profile("wave", 3), 3, delta=1e-3, seed=0)
    with caplog.at_level(logging.WARNING):
        rec = tikhonov(d, alpha=1e-6, max_iterations=1)
    assert rec.info["stop_reason"] == "max_iterations" and rec.info["capped_solves"] == 1
    assert "cap of 1 iterations" in caplog.text


# ---- the α rules on linear problems -------------------------------------------------------------


def _linear_path(A, b, L, alphas):
    """Exact Tikhonov solutions x_α of min ‖Ax − b‖² + α‖Lx‖² and their misfits and penalties."""
    xs = [np.linalg.solve(A.T @ A + a * L.T @ L, A.T @ b) for a in alphas]
    return (xs, np.array([np.sum((A @ x - b) ** 2) for x in xs]),
            np.array([np.sum((L @ x) ** 2) for x in xs]))


def test_influence_trace():
    rng = np.random.default_rng(0)
    J, L = rng.standard_normal((30, 8)), rng.standard_normal((12, 8))
    for alpha in (1e-6, 0.3, 50.0):
        A = J @ np.linalg.solve(J.T @ J + alpha * L.T @ L, J.T)
        assert influence_trace(J, L, alpha) == pytest.approx(np.trace(A), rel=1e-10)


def test_lcurve_turns_the_way_the_l_does():
    """An L traced with α increasing: down the vertical branch, corner at (0, 0), right along the
    flat one. The corner has the largest (positive) curvature; a Γ (turning clockwise) has none."""
    x = np.array([0.0, 0, 0, 0, 0.5, 1.5, 2.5, 3.5])          # log-norms, α increasing
    y = np.array([3.0, 2, 1, 0.05, 0, 0, 0, 0])
    misfit, penalty = np.exp(2 * x)[::-1], np.exp(2 * y)[::-1]  # path order: α decreasing
    assert lcurve_index(misfit, penalty) == 7 - 3               # the point (0, 0.05)
    assert np.nanmax(lcurve_curvatures(misfit, penalty)) > 0
    assert np.nanmax(lcurve_curvatures(penalty, misfit)) <= 1e-12   # mirrored: a clockwise turn


def test_rules_on_a_linear_ill_posed_problem():
    """Singular values 1 … 1e-4, a solution obeying the discrete Picard condition, white noise:
    the α chosen by GCV and by the L-curve lie within one grid step (half a decade) of the α of
    least true error in most draws (measured: GCV 85 % and 95 %, L-curve 95 % and 100 % of 20 draws
    at δ = 1e-3 and 1e-2); L-curve within two steps always. GCV's occasional miss is its known
    failure (a flat minimum, undersmoothing). The discrepancy rule's α is the largest with
    misfit <= δ²M and the misfit is monotone in α (exactly, for a linear problem)."""
    m, e, draws = 300, 40, 20
    grid = ALPHA_GRID
    for delta in (1e-3, 1e-2):
        gcv_hits = lcurve_hits = 0
        for seed in range(draws):
            rng = np.random.default_rng(seed)
            U = np.linalg.qr(rng.standard_normal((m, e)))[0]
            V = np.linalg.qr(rng.standard_normal((e, e)))[0]
            s = 10.0 ** (-4 * np.arange(e) / (e - 1))
            A = (U * s) @ V.T
            x_true = V @ (np.sqrt(s) * rng.choice([-1.0, 1.0], e))
            b = A @ x_true + delta * rng.standard_normal(m)
            xs, misfit, penalty = _linear_path(A, b, np.eye(e), grid)
            best = int(np.argmin([np.linalg.norm(x - x_true) for x in xs]))
            traces = np.array([influence_trace(A, np.eye(e), a) for a in grid])
            gcv_hits += abs(int(np.argmin(gcv_scores(misfit, traces, m))) - best) <= 1
            corner = lcurve_index(misfit, penalty)
            lcurve_hits += abs(corner - best) <= 1
            assert abs(corner - best) <= 2, (delta, seed)
            assert np.all(np.diff(misfit) < 0)
            level = delta ** 2 * m
            chosen = discrepancy_index(misfit, level)
            if misfit[chosen] <= level:       # the largest α at the level
                assert chosen == 0 or misfit[chosen - 1] > level
            else:                             # none reaches it: the smallest α of the grid
                assert chosen == grid.size - 1 and misfit.min() > level
        assert gcv_hits >= 0.8 * draws and lcurve_hits >= 0.9 * draws, (delta, gcv_hits, lcurve_hits)


# ---- options -----------------------------------------------------------------------------------


def test_alpha_option_parsing_and_errors():
    assert alpha_value("auto") == alpha_value(" AUTO ") == "auto"
    assert alpha_value("1e-3") == 1e-3 and alpha_value("lots") == "lots"
    method = get_method("tikhonov")
    assert method.resolve_options({"alpha": 0.5})["alpha"] == 0.5
    assert method.resolve_options({})["alpha"] == "auto"
    for value, text in ((-1.0, "must be > 0 or auto"), (0, "must be > 0 or auto"),
                        (float("inf"), "must be finite"), ("lots", "must be a number > 0 or auto"),
                        (True, "must be a number > 0 or auto")):
        with pytest.raises(OptionError, match=text) as exc:
            method.resolve_options({"alpha": value})
        assert "\n" not in str(exc.value) and "'alpha'" in str(exc.value)
    for given, text in (({"prior": "flat"}, "must be one of identity, smooth"),
                        ({"alpha_rule": "best"}, "must be one of auto, discrepancy, gcv, lcurve"),
                        ({"reference": 0.0}, "must be > 0"),
                        ({"stop": "converge"}, "unknown option")):
        with pytest.raises(OptionError, match=text):
            method.resolve_options(given)
