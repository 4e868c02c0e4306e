"""Tests of the classical weighted output-least-squares baseline (``ols``)."""

from __future__ import annotations

import numpy as np
import pytest

from discrete_eit import Lattice, conductivity_profile, dtn_matrix, generate_dataset
from discrete_eit.methods.least_squares import HISTORY_COLUMNS
from discrete_eit.methods.ols import OLSModel, ols
from discrete_eit.methods.registry import get_method, reconstruct


@pytest.mark.parametrize("partial", ["full", "sigma0"])
def test_jacobian_matches_finite_differences(partial):
    n, h = 3, 1e-6
    d = generate_dataset(conductivity_profile("wave", n), n, delta=1e-2, seed=0, partial_set=partial)
    model = OLSModel(d)
    gamma = d.gamma_true * np.random.default_rng(1).uniform(0.8, 1.2, d.gamma_true.size)
    lat = Lattice(n)
    from discrete_eit import solve_forward
    Jt = model.jacobian_t(solve_forward(lat, gamma).potentials)
    fd = np.array([(model.residual(dtn_matrix(lat, gamma + h * e))
                    - model.residual(dtn_matrix(lat, gamma - h * e))) / (2 * h)
                   for e in np.eye(gamma.size)])
    np.testing.assert_allclose(Jt, fd, atol=1e-7 * np.abs(Jt).max())


def test_weights():
    d = generate_dataset(conductivity_profile("wave", 3), 3, delta=1e-2, seed=0)
    model = OLSModel(d)
    np.testing.assert_allclose(model.sqrt_w, 1.0 / np.abs(d.dtn[d.mask]))
    assert np.all(OLSModel(d, "uniform").sqrt_w == 1.0 / np.abs(d.dtn).max())
    with pytest.raises(ValueError):
        OLSModel(d, "bogus")


def test_best_constant_start():
    n = 4
    d = generate_dataset(np.full(Lattice(n).n_edges, 0.7), n, partial_set="sigma0")
    assert OLSModel(d).best_constant() == pytest.approx(0.7, rel=1e-13)
    rec = ols(d)
    assert rec.info["accepted_steps"] <= 3        # already at rounding level
    np.testing.assert_allclose(rec.gamma, 0.7, rtol=1e-13)


@pytest.mark.parametrize("partial", ["full", "last3n", "sigma0"])
def test_exact_data_n6(partial, rel_err):
    n = 6
    gamma = conductivity_profile("wave", n)
    rec = ols(generate_dataset(gamma, n, partial_set=partial))
    assert rec.info["stop"] == "converge"
    assert rel_err(rec.gamma, gamma) <= 1e-8, rec.info
    assert rec.info["dtn_residual"] <= 1e-12


def test_noisy_n10_matches_reference():
    """n = 10 wave, δ = 1e-3: MATH.md §4 quotes 4.2e-2; the median over 5 seeds must be within 2×."""
    n, delta = 10, 1e-3
    gamma = conductivity_profile("wave", n)
    errors = []
    for seed in range(5):
        rec = ols(generate_dataset(gamma, n, delta=delta, seed=seed))
        info = rec.info
        assert info["stop_reason"] == "discrepancy"
        # Stopped at the first iterate below τ²δ²|Σ|.
        assert info["final_loss"] <= info["discrepancy_level"] == pytest.approx(delta ** 2 * (4 * n) ** 2)
        hist = rec.arrays["history"]
        accepted = hist[hist[:, 3] == 1]
        assert accepted[-2, 1] > info["discrepancy_level"]
        errors.append(info["relative_error"])
    assert 4.2e-2 / 2 <= np.median(errors) <= 4.2e-2 * 2, errors


def test_options_and_registry():
    n = 4
    gamma = conductivity_profile("wave", n)
    d = generate_dataset(gamma, n, delta=1e-3, seed=0)
    assert reconstruct("ols", d).info["stop"] == "discrepancy"
    conv = reconstruct("ols", d, stop="converge")
    assert conv.info["stop"] == "converge" and conv.info["iterations"] > 0
    with pytest.raises(ValueError, match="delta"):
        ols(generate_dataset(gamma, n), stop="discrepancy")
    assert ols(generate_dataset(gamma, n), delta=1e-3).info["stop"] == "discrepancy"
    # Unweighted OLS also runs (and stops by the discrepancy of its own, scaled residual).
    assert np.all(ols(d, weighting="uniform").gamma > 0)
    assert conv.info["history_columns"] == list(get_method("ols").history_columns) == list(HISTORY_COLUMNS)
    assert conv.arrays["history"].shape[1] == len(HISTORY_COLUMNS)
    assert HISTORY_COLUMNS[2] == "damping" and HISTORY_COLUMNS[-1] == "gamma_error"


def test_deterministic():
    n = 6
    d = generate_dataset(conductivity_profile("random", n, seed=3), n, delta=1e-3, seed=1,
                         partial_set="last3n")
    a, b = ols(d), ols(d)
    np.testing.assert_array_equal(a.gamma, b.gamma)
    np.testing.assert_array_equal(a.arrays["history"], b.arrays["history"])
    assert a.info == b.info
