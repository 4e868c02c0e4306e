"""δ estimated from the data (problem/noise_estimate.py): every registered noise model, refusals."""

import numpy as np
import pytest

from discrete_eit import Lattice, conductivity_profile, generate_dataset
from discrete_eit.problem.noise import NOISE_MODELS, register_noise_model
from discrete_eit.problem.noise_estimate import (
    NOISE_ESTIMATORS,
    T3_DIFF_MEDIAN,
    estimate_dataset_noise,
    estimate_noise_level,
)

DELTAS = (1e-4, 1e-3, 1e-2)
SEEDS = range(5)


def test_every_registered_noise_model_has_an_estimator():
    assert set(NOISE_ESTIMATORS) == set(NOISE_MODELS)


@pytest.mark.parametrize("model", sorted(NOISE_MODELS))
@pytest.mark.parametrize("partial_set", ["full", "last3n"])
def test_estimate_within_band(model, partial_set):
    """n = 6, δ = 1e-4, 1e-3, 1e-2, seeds 0-4: every draw in [0.8, 1.25]·δ except gain (4n − 1 deviates
    per null vector: 11 % relative std, 96 % of single draws in the band over 300 seeds), whose median
    over the 5 seeds is; gain needs every entry and refuses last3n."""
    n = 6
    gamma = conductivity_profile("wave", Lattice(n))
    for delta in DELTAS:
        data = [generate_dataset(gamma, n, delta, seed, partial_set, False, model) for seed in SEEDS]
        if model == "gain" and partial_set != "full":
            with pytest.raises(ValueError, match="needs every entry"):
                estimate_dataset_noise(data[0], model)
            continue
        ratios = np.array([estimate_dataset_noise(d, model).delta / delta for d in data])
        assert 0.8 <= np.median(ratios) <= 1.25, (model, delta, ratios)
        if model != "gain":
            assert np.all((0.8 <= ratios) & (ratios <= 1.25)), (model, delta, ratios)


@pytest.mark.parametrize("model", ["relative", "additive", "student_t"])
def test_symmetrised_noise_is_refused(model):
    n = 4
    gamma = conductivity_profile("wave", Lattice(n))
    d = generate_dataset(gamma, n, 1e-3, 1, "full", True, model)
    with pytest.raises(ValueError, match="rounding level") as info:
        estimate_dataset_noise(d, model)
    assert "\n" not in str(info.value)


def test_symmetrised_gains_are_still_told():
    """b = a keeps Λ^δ symmetric, but the null vector 1/(1 + δa) remains: estimable."""
    n = 6
    gamma = conductivity_profile("wave", Lattice(n))
    ratios = [estimate_dataset_noise(generate_dataset(gamma, n, 1e-3, s, "full", True, "gain"), "gain").delta
              / 1e-3 for s in SEEDS]
    assert 0.8 <= np.median(ratios) <= 1.25


def test_exact_data_and_too_few_entries_are_refused():
    n = 4
    gamma = conductivity_profile("wave", Lattice(n))
    with pytest.raises(ValueError, match="rounding level"):
        estimate_dataset_noise(generate_dataset(gamma, n, 0.0, 0), "relative")
    with pytest.raises(ValueError, match="rounding"):
        estimate_dataset_noise(generate_dataset(gamma, n, 0.0, 0, noise_model="gain"), "gain")
    sparse = generate_dataset(gamma, n, 1e-3, 0, "sigma0")
    for model in ("relative", "additive", "student_t"):
        with pytest.raises(ValueError, match="too few measured entries"):
            estimate_dataset_noise(sparse, model)


def test_partly_symmetrised_noise_is_refused():
    """Pairs symmetrised, rows still noisy: the two parts disagree."""
    n = 6
    gamma = conductivity_profile("wave", Lattice(n))
    d = generate_dataset(gamma, n, 1e-3, 2, "full", True)
    dtn = d.dtn + 1e-7 * np.triu(np.random.default_rng(0).standard_normal(d.dtn.shape), 1)  # tiny asymmetry
    with pytest.raises(ValueError, match="row sums say"):
        estimate_noise_level(dtn, d.mask, "relative")


def test_a_model_without_estimator_is_refused():
    register_noise_model("_pink_test")(lambda dtn, delta, rng, symmetric: dtn)
    try:
        with pytest.raises(ValueError, match="has no δ estimator"):
            estimate_noise_level(np.eye(4), None, "_pink_test")
    finally:
        NOISE_MODELS.pop("_pink_test")
    with pytest.raises(ValueError, match="unknown"):
        estimate_noise_level(np.eye(4), None, "pink")


def test_student_t_constant_matches_monte_carlo():
    xi = np.random.default_rng(0).standard_t(3, (2, 400_000)) / np.sqrt(3)
    assert np.median(np.abs(xi[0] - xi[1])) == pytest.approx(T3_DIFF_MEDIAN, rel=5e-3)
