"""Sensitivity prediction vs Monte Carlo of the output-least-squares minimiser (MATH.md §7)."""

import numpy as np
import pytest
from scipy.optimize import least_squares

from discrete_eit import Lattice, dtn_jacobian, dtn_matrix, partial_mask
from discrete_eit.problem.noise import add_relative_noise
from discrete_eit.problem.sensitivity import predicted_std


def output_least_squares(L, mask, data, x0):
    """Minimise Σ_{s∈Σ} (Λ(γ)_s − data_s)² (scipy's Levenberg–Marquardt in log γ), from x0."""
    def residual(t):
        return dtn_matrix(L, np.exp(t))[mask] - data[mask]

    def jac(t):
        return dtn_jacobian(L, np.exp(t), mask) * np.exp(t)

    fit = least_squares(residual, np.log(x0), jac=jac, method="lm", xtol=1e-14, ftol=1e-14, gtol=1e-14)
    return np.exp(fit.x)


@pytest.mark.parametrize("partial", ["full", "sigma0"])
def test_prediction_matches_monte_carlo(partial, random_gamma):
    n, delta, draws = 4, 1e-4, 240
    L, g = random_gamma(n, 5)
    mask = partial_mask(partial, n)
    exact = dtn_matrix(L, g)
    pred = predicted_std(L, g, mask)
    assert pred.full_rank
    # start near (not at) the truth: sigma0 is a square system on which LM from far away can wander
    start = g * (1 + 0.05 * np.random.default_rng(0).standard_normal(L.n_edges))
    est = np.array([output_least_squares(L, mask, add_relative_noise(exact, delta, seed), start)
                    for seed in range(draws)])
    ratio = est.std(axis=0, ddof=1) / (delta * pred.std_per_delta)
    assert 0.8 <= ratio.min() and ratio.max() <= 1.25, (ratio.min(), ratio.max())
    assert abs(np.mean(est - g, axis=0)).max() < 0.3 * (delta * pred.std_per_delta).max()


def test_rank_deficiency_reported_instead_of_number(random_gamma):
    L, g = random_gamma(5, 1)
    res = predicted_std(L, g, partial_mask("corners", 5))
    assert not res.full_rank and res.rank_deficiency == 1 and np.isnan(res.std_per_delta).all()


def test_depth_dependence_full_data():
    # MATH.md §7: predicted max / median relative std per unit δ, n=4: 6.6/2.2, n=6: 78/7.4 (wave)
    from discrete_eit import conductivity_profile
    for n, (mx, med) in {4: (6.6, 2.2), 6: (78, 7.4)}.items():
        L = Lattice(n)
        g = conductivity_profile("wave", L)
        rel = predicted_std(L, g, partial_mask("full", n)).std_per_delta / g
        assert rel.max() == pytest.approx(mx, rel=0.5) and np.median(rel) == pytest.approx(med, rel=0.5)
        centre = ~L.boundary_ring
        assert rel[centre].mean() > rel[L.boundary_ring].mean()
