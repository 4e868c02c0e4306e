"""Error bars at the estimate: ``error_bars`` and ``reconstruct(..., error_bars=True)``."""

import numpy as np
import pytest

from discrete_eit import (
    Lattice,
    conductivity_profile,
    dtn_jacobian,
    dtn_matrix,
    generate_dataset,
    reconstruct,
)
from discrete_eit.methods.registry import OptionError
from discrete_eit.problem.noise import NOISE_MODELS, add_noise
from discrete_eit.problem.sensitivity import error_bars, predicted_std


def test_gamma_std_matches_monte_carlo():
    """The unweighted OLS minimiser (ols, weighting=uniform, converged) at δ = 1e-5, n = 3, 40 draws:
    the spread over draws against the error bars each draw reports at its own γ̂ (≤ 20 % median
    deviation over edges, as test_sensitivity does at the truth)."""
    n, delta, draws = 3, 1e-5, 40
    gamma = conductivity_profile("wave", Lattice(n))
    recs = [reconstruct("ols", generate_dataset(gamma, n, delta, seed), error_bars=True, weighting="uniform",
                        stop="converge") for seed in range(draws)]
    est = np.array([r.gamma for r in recs])
    bars = np.array([r.arrays["gamma_std"] for r in recs])
    ratio = est.std(axis=0, ddof=1) / np.median(bars, axis=0)
    assert np.median(np.abs(ratio - 1)) <= 0.2, ratio
    assert recs[0].info["error_bars"] == {"linearised_at": "estimate", "delta": delta,
                                          "delta_source": "dataset", "noise_model": "relative"}


@pytest.mark.parametrize("model", sorted(NOISE_MODELS))
def test_noise_model_covariances_match_the_linear_map(model):
    """std of A·(Λ^δ − Λ) over 3000 draws = the predicted std per model (n = 3, linear: no solves)."""
    n, delta = 3, 1e-6
    lattice = Lattice(n)
    gamma = conductivity_profile("wave", lattice)
    exact = dtn_matrix(lattice, gamma)
    A = np.linalg.pinv(dtn_jacobian(lattice, gamma))
    noise = np.array([(add_noise(exact, delta, s, model) - exact).ravel() for s in range(3000)])
    ratio = (noise @ A.T).std(axis=0) / (delta * predicted_std(lattice, gamma, None, model).std_per_delta)
    assert 0.9 < np.median(ratio) < 1.1, (model, ratio)
    if model != "student_t":  # t₃'s sample std converges slowly (infinite kurtosis): the median only
        assert ratio.min() > 0.8 and ratio.max() < 1.25, (model, ratio)


def test_error_bars_refuse_what_cannot_be_linearised():
    lattice = Lattice(3)
    gamma = conductivity_profile("wave", lattice)
    mask = np.ones((12, 12), bool)
    for bad in (-gamma, np.where(np.arange(gamma.size) == 2, np.nan, gamma)):
        with pytest.raises(ValueError, match="cannot linearise at γ̂"):
            error_bars(lattice, bad, mask, 1e-3)
    from discrete_eit import partial_mask

    with pytest.raises(ValueError, match="rank deficient"):
        error_bars(Lattice(5), conductivity_profile("wave", Lattice(5)), partial_mask("corners", 5), 1e-3)


def test_reconstruct_error_bars_api():
    n = 3
    gamma = conductivity_profile("wave", Lattice(n))
    d = generate_dataset(gamma, n, 1e-3, 1)
    plain = reconstruct("cm", d)
    rec = reconstruct("cm", d, error_bars=True)
    assert np.array_equal(plain.gamma, rec.gamma) and "gamma_std" not in plain.arrays  # off: unchanged
    assert rec.arrays["gamma_std"].shape == (2 * n * (n + 1),) and np.all(rec.arrays["gamma_std"] > 0)
    flagged = reconstruct("cm", d, error_bars=True, delta=2e-3)  # cm has no δ: the bars' own
    assert flagged.info["error_bars"]["delta_source"] == "flag"
    assert np.allclose(flagged.arrays["gamma_std"], 2 * rec.arrays["gamma_std"])
    auto = reconstruct("ols", d, error_bars=True, delta="auto")
    assert auto.info["error_bars"]["delta_source"] == "estimate" and auto.info["delta_model"] == "relative"
    assert auto.info["delta"] == auto.info["delta_estimate"] == auto.info["error_bars"]["delta"]
    with pytest.raises(OptionError, match="unknown option 'delta'"):
        reconstruct("cm", d, delta=1e-3)  # without error bars, as before
    with pytest.raises(OptionError, match="'auto'"):
        reconstruct("ols", d, delta="lots")
    nodelta = generate_dataset(gamma, n, 1e-3, 1)
    nodelta.delta = None
    with pytest.raises(ValueError, match="error bars need a noise level"):
        reconstruct("cm", nodelta, error_bars=True)
